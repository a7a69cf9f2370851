"""A threading `Signal` seen from the event loop: many SSE streams wait without a thread each."""

from __future__ import annotations

import asyncio
import threading

from infrastructure.signals import Signal


class AsyncSignal:
    """One thread waits on the signal and wakes every coroutine waiting in `wait`.

    Like the signal it mirrors it carries a generation counter, so a wake-up between a reader's
    check and its wait is not lost.
    """

    def __init__(self, signal: Signal, loop: asyncio.AbstractEventLoop) -> None:
        self._signal = signal
        self._loop = loop
        self._event = asyncio.Event()
        self._stopped = threading.Event()
        self.generation = signal.generation
        self._thread = threading.Thread(target=self._relay, name="sse-signal-relay", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        seen = self._signal.generation
        while not self._stopped.is_set() and not self._loop.is_closed():
            if self._signal.wait(seen, 1.0):
                seen = self._signal.generation
                try:
                    self._loop.call_soon_threadsafe(self._fire, seen)
                except RuntimeError:  # the loop closed
                    return

    def _fire(self, generation: int) -> None:
        self.generation = generation
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, since: int, timeout: float) -> bool:
        """Wait until the generation moves past `since`, or the timeout; True when it did."""
        if self.generation != since:
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def stop(self) -> None:
        self._stopped.set()
