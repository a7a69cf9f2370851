"""What this replica last saved of each aggregate, so the next write to it needs no read.

An entry is handed to one caller at a time (taken out, put back by the next successful save), so
no copy is made and its cost does not grow with the aggregate's history. It may be stale when
another replica wrote since: a save decided on it then loses its compare-and-set, and the caller
decides again on a fresh load (`application.retry.decide_remembered`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class AggregateMemory:
    """A bounded LRU of saved aggregates by id, each with the version it was saved at."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, aggregate_id: str) -> Any | None:
        """The remembered aggregate, now the caller's alone; None when there is none to trust."""
        with self._lock:
            entry = self._entries.pop(aggregate_id, None)
        if entry is None:
            return None
        aggregate, version = entry
        # Changed since it was saved (a caller went on after its save): not what the log holds.
        if aggregate.version != version or aggregate.pending_events:
            return None
        return aggregate

    def keep(self, aggregates: tuple[Any, ...]) -> None:
        """Remember aggregates just saved."""
        if self.capacity <= 0:
            return
        with self._lock:
            for aggregate in aggregates:
                key = str(aggregate.id)
                self._entries[key] = (aggregate, aggregate.version)
                self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def forget(self, aggregates: tuple[Any, ...]) -> None:
        with self._lock:
            for aggregate in aggregates:
                self._entries.pop(str(aggregate.id), None)


class WriterLocks:
    """One writer at a time per aggregate in this process: the next one takes what the last saved.

    Writers of one aggregate would otherwise load the same version, and all but one would lose
    their compare-and-set (and, in a shared transaction, make the whole batch fail).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def writing(self, aggregate_id: str) -> Iterator[None]:
        with self._lock:
            lock, users = self._locks.get(aggregate_id, (threading.Lock(), 0))
            self._locks[aggregate_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._locks[aggregate_id]
                if users == 1:
                    del self._locks[aggregate_id]
                else:
                    self._locks[aggregate_id] = (lock, users - 1)
