"""Watch a component's own waits and attempts from a test, instead of sleeping until they happen.

Each wrapper replaces one method on one object (not the class) and forwards to the real one, so the
component behaves as before; the test learns when a thread is parked in a wait, or how a call ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class ParkedWaits:
    """The waits on a `Signal` by the threads `mine` picks: is one parked in it now, for how long."""

    def __init__(self, signal: Any, mine: Callable[[threading.Thread], bool]) -> None:
        self._cond = threading.Condition()
        self.parked = 0  # threads of ours inside the wait now
        self.waits = 0  # waits entered so far
        self.timeouts: list[float] = []
        real = signal.wait

        def wait(since: int, timeout: float) -> bool:
            if not mine(threading.current_thread()):
                return bool(real(since, timeout))
            with self._cond:
                self.parked += 1
                self.waits += 1
                self.timeouts.append(timeout)
                self._cond.notify_all()
            try:
                return bool(real(since, timeout))
            finally:
                with self._cond:
                    self.parked -= 1
                    self._cond.notify_all()

        signal.wait = wait

    def wait_parked(self, timeout: float = 10.0, after: int = 0) -> bool:
        """True once a thread of ours is parked in the wait (and has entered more than `after` waits)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.parked > 0 and self.waits > after, timeout)


def named(name: str) -> Callable[[threading.Thread], bool]:
    return lambda thread: thread.name == name


class Attempts:
    """Every call of `obj.method` with what it returned, in order (with the monotonic time it ended)."""

    def __init__(self, obj: Any, method: str) -> None:
        self._cond = threading.Condition()
        self.results: list[tuple[float, Any]] = []
        real = getattr(obj, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            with self._cond:
                self.results.append((time.monotonic(), result))
                self._cond.notify_all()
            return result

        setattr(obj, method, call)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """True once at least `count` calls have returned."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.results) >= count, timeout)

    @property
    def returned(self) -> list[Any]:
        with self._cond:
            return [result for _, result in self.results]
