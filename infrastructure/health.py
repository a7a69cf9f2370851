"""The `/healthz` answer, always within a second: from the probe, or from a check bounded in time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from infrastructure.availability import Reachability


def health_body(adapter: str, state: Reachability) -> dict[str, Any]:
    """The health document of the contract; `message` names an exception type, never a credential."""
    failure = None
    if not state.reachable:
        failure = "database-unreachable"
    elif not state.migration_ready:
        failure = "migration-missing"
    return {
        "adapter": adapter,
        "ready": failure is None,
        "reachable": state.reachable,
        "migrationReady": state.reachable and state.migration_ready,
        "failureKind": failure,
        "message": state.error if failure else None,
    }


class BoundedCheck:
    """Runs a blocking check in one thread at a time; a caller waits at most `timeout` for it.

    A check still running past the timeout (a lock held by another process) answers unreachable,
    and later callers wait on that same run rather than starting more threads behind it.
    """

    def __init__(self, check: Callable[[], Reachability], timeout: float = 0.9) -> None:
        self._check = check
        self._timeout = timeout
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._done.set()
        self._result: Reachability | None = None
        self._started = 0.0

    def __call__(self) -> Reachability:
        with self._lock:
            if self._done.is_set():
                self._done.clear()
                self._started = time.monotonic()
                threading.Thread(target=self._run, name="health-check", daemon=True).start()
            done = self._done
        if done.wait(self._timeout) and self._result is not None:
            return self._result
        return Reachability(False, False, "Timeout", self._started)

    def _run(self) -> None:
        try:
            self._result = self._check()
        except Exception as error:  # noqa: BLE001 - a check that raises reports, never escapes
            self._result = Reachability(False, False, type(error).__name__, time.monotonic())
        finally:
            self._done.set()
