"""Wake-ups: signals that something may have changed, never the change itself."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from infrastructure.database import connect_postgres

log = logging.getLogger(__name__)


class Signal:
    """A broadcast wake-up with a generation counter, so no notify between check and wait is lost."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, since: int, timeout: float) -> bool:
        """Wait until notified after generation `since`, or the timeout; True when notified."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != since, timeout)


class PostgresListener:
    """LISTENs on channels and fires the matching signals; reconnects when its connection dies.

    After every (re)connect all signals fire once, since notifications may have been missed.
    """

    APPLICATION_NAME = "agentrun-listener"

    def __init__(self, conninfo: str, signals: dict[str, Signal]) -> None:
        self._conninfo = conninfo
        self._signals = signals
        # Channels whose payloads go to callbacks (in the listener thread), beside the signals.
        self._callbacks: dict[str, list[Callable[[str], None]]] = {}
        # Run in the listener thread after each (re)connect, once its LISTENs are in place.
        self._on_connect: list[Callable[[], None]] = []
        # The backend pid of the listening session while connected: its peers are the others.
        self.backend_pid: int | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)
        self.connections = 0

    def start(self) -> None:
        self._thread.start()

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None:
        """Deliver each NOTIFY payload of `channel` to `callback`; call before `start`."""
        self._callbacks.setdefault(channel, []).append(callback)

    def on_connect(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every (re)connect, once the LISTENs are in place; before `start`."""
        self._on_connect.append(callback)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopped.is_set():
            try:
                self._listen()
                backoff = 0.1
            except Exception as error:  # noqa: BLE001 - any failure means reconnect
                self.backend_pid = None
                if self._stopped.is_set():
                    return
                log.warning("listener connection lost (%s); reconnecting", type(error).__name__)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 2.0)

    def _listen(self) -> None:
        with connect_postgres(self._conninfo, application_name=self.APPLICATION_NAME) as conn:
            for channel in {*self._signals, *self._callbacks}:
                conn.execute(f"LISTEN {channel}")
            self.connections += 1
            self.backend_pid = conn.info.backend_pid
            for connected in self._on_connect:
                connected()
            self._fire_all()
            while not self._stopped.is_set():
                for notification in conn.notifies(timeout=0.5, stop_after=100):
                    signal = self._signals.get(notification.channel)
                    if signal is not None:
                        signal.notify()
                    for callback in self._callbacks.get(notification.channel, ()):
                        try:
                            callback(notification.payload)
                        except Exception:  # a subscriber's failure must not drop the connection
                            log.exception("listener callback failed")

    def _fire_all(self) -> None:
        for signal in self._signals.values():
            signal.notify()


def poll_until(check: Callable[[], bool], signal: Signal, timeout: float, interval: float) -> bool:
    """Re-check after every signal and at least every `interval`, until true or the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        generation = signal.generation
        if check():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        signal.wait(generation, min(remaining, interval))
