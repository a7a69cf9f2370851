"""`WorkerStateUploader`: coalesced worker-state patches, one request in flight and one pending."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from domain.merge_patch import combine_patches
from interfaces.client.errors import SchemaInvalid

log = logging.getLogger(__name__)

Patch = dict[str, Any]


def never_succeeds(error: Exception) -> bool:
    """A patch the server refused as invalid fails the same way every time, so it is dropped."""
    return isinstance(error, SchemaInvalid)


class WorkerStateUploader:
    """Sends state patches on a background thread; `enqueue` never blocks on the network.

    At most one patch is being sent (or waiting to be retried) and at most one is pending; a new
    patch is folded into the pending one with the server's merge rules. A failed send is retried
    forever with capped exponential backoff plus jitter, absorbing the pending patch before each
    retry, until it succeeds or `close()` drops everything.
    """

    def __init__(
        self,
        send: Callable[[Patch], object],
        *,
        base: float = 0.5,
        cap: float = 30.0,
        jitter: float = 0.5,
        sleep: Callable[[float], None] | None = None,
        random_fraction: Callable[[], float] = random.random,
        drop_if: Callable[[Exception], bool] = never_succeeds,
        name: str = "worker-state-uploader",
    ) -> None:
        self.send = send
        self.base, self.cap, self.jitter = base, cap, jitter
        self.random_fraction = random_fraction
        self.drop_if = drop_if
        self.sent = 0
        self.failures = 0
        self._cond = threading.Condition()
        self._pending: Patch | None = None
        self._in_flight = False
        self._closed = False
        self._stopped = threading.Event()
        self._sleep = sleep or self._stopped.wait
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def enqueue(self, patch: Patch) -> None:
        """Queue `patch`, merged into whatever is pending; ignored once closed."""
        with self._cond:
            if self._closed:
                return
            self._pending = dict(patch) if self._pending is None else combine_patches(self._pending, patch)
            self._cond.notify_all()

    def close(self, timeout: float | None = None) -> None:
        """Stop: what is pending is dropped, a retry is abandoned; waits `timeout` for the thread."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()
        self._stopped.set()
        if timeout is not None and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending or in flight; False on timeout or if closed first."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._idle(), timeout)
            return not self._closed and self._idle()

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th consecutive failure: base·2ⁿ⁻¹, capped, plus jitter."""
        return float(min(self.base * 2 ** (failures - 1), self.cap)) + self.random_fraction() * self.jitter

    @property
    def pending(self) -> Patch | None:
        with self._cond:
            return None if self._pending is None else dict(self._pending)

    @property
    def in_flight(self) -> bool:
        with self._cond:
            return self._in_flight

    @property
    def closed(self) -> bool:
        return self._closed

    def _idle(self) -> bool:
        return self._pending is None and not self._in_flight

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._pending is not None)
                if self._closed or self._pending is None:
                    return
                payload, self._pending = self._pending, None
                self._in_flight = True
            try:
                self._send_until_done(payload)
            finally:
                with self._cond:
                    self._in_flight = False
                    self._cond.notify_all()

    def _send_until_done(self, payload: Patch) -> None:
        failures = 0
        while True:
            if self._attempt(payload):
                self.failures = 0
                return
            failures += 1
            self.failures = failures
            self._sleep(self.delay(failures))
            with self._cond:
                if self._closed:
                    return
                # Patches that arrived while we waited ride along with the retry.
                if self._pending is not None:
                    payload = combine_patches(payload, self._pending)
                    self._pending = None

    def _attempt(self, payload: Patch) -> bool:
        try:
            ok = self.send(payload)
        except Exception as error:
            if self.drop_if(error):
                log.warning("worker state patch refused, dropped: %s", error)
                return True
            log.info("worker state upload failed, will retry: %s", error)
            return False
        if ok is False:
            return False
        self.sent += 1
        return True
