"""`BackendTracker`: the backend a run currently uses, advanced only after it was persisted."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class BackendTracker:
    """Follows a run's backend; `current()` is the preferred-backend hint for the next LLM request.

    On a backend-resolved event that changes the backend, the change is persisted first (normally
    `POST /runs/{id}/backend`) and the in-memory value advances only when that succeeded. If the
    tracker advanced first, a failed write would make the next identical event look unchanged and
    the stored backend would stay stale for good; this way the next event retries the write.
    """

    def __init__(
        self,
        persist: Callable[[str, str | None], Any],
        initial: str | None = None,
        *,
        label: str = "",
    ) -> None:
        self._persist = persist
        self._current = initial
        self._label = label
        # One event at a time, so two threads never persist the same change twice.
        self._lock = threading.Lock()

    @classmethod
    def for_run(cls, client: Any, run_id: str) -> BackendTracker:
        """A tracker for one run, starting from the stored current backend and persisting through `client`."""
        initial = client.backends.get(run_id)["current"]

        def persist(backend_id: str, cache_key: str | None) -> None:
            client.backends.record(run_id, backend_id, cache_key)

        return cls(persist, initial, label=run_id)

    def current(self) -> str | None:
        """The last persisted backend (or the initial one)."""
        return self._current

    def on_event(self, backend_id: str, cache_key: str | None = None) -> bool:
        """Record a resolved backend; True if the stored backend changed, False if unchanged or failed."""
        with self._lock:
            if backend_id == self._current:
                return False
            try:
                self._persist(backend_id, cache_key)
            except Exception as error:
                log.warning(
                    "run %s: could not persist backend %s (%s); keeping %s for retry",
                    self._label,
                    backend_id,
                    error,
                    self._current,
                )
                return False
            previous, self._current = self._current, backend_id
            log.info(
                "run %s: backend %s %s -> %s cache=%s",
                self._label,
                "switched" if previous else "resolved",
                previous,
                backend_id,
                cache_key or "miss",
            )
            return True
