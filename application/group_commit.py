"""Group commit: saves that arrive while another save is in flight go to the store together.

The store serialises writers with a table lock, so under load each save mostly waits for the lock.
A thread that finds a save in flight queues its aggregates; when that save ends, one queued thread
becomes the leader and saves everything queued in one transaction (one lock, one commit). Each
aggregate is still compare-and-set on its version: a batch that fails is saved again one caller at a
time, so only the caller that lost a race sees its `ConcurrencyError`.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

MAX_BATCH = 64


class Store(Protocol):
    def save(self, *aggregates: Any) -> list[int]: ...


class _Slot:
    def __init__(self, aggregates: tuple[Any, ...]) -> None:
        self.aggregates = aggregates
        self.events = sum(len(a.pending_events) for a in aggregates)
        self.positions: list[int] | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit:
    """`save(*aggregates)` with the store's meaning, batched with concurrent callers."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Slot] = []
        self._saving = False
        self.batches = 0  # transactions made (for tests and benchmarks)

    def save(self, *aggregates: Any) -> list[int]:
        slot = _Slot(aggregates)
        batch: list[_Slot] = []
        with self._cond:
            self._queue.append(slot)
            while self._saving and not slot.done:
                self._cond.wait()
            if not slot.done:
                # The leader: this slot and whatever queued behind the last save, oldest first.
                self._saving = True
                rest = [s for s in self._queue if s is not slot]
                batch = [slot, *rest[: self.max_batch - 1]]
                self._queue = rest[self.max_batch - 1 :]
        if batch:
            try:
                self._save(batch)
            finally:
                with self._cond:
                    self._saving = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error
        assert slot.positions is not None
        return slot.positions

    def _save(self, batch: list[_Slot]) -> None:
        # The store takes the pending events even when the save fails; kept to save them again.
        pending = [(a, list(a.pending_events)) for s in batch for a in s.aggregates]
        try:
            self.batches += 1
            positions = self.store.save(*(a for s in batch for a in s.aggregates))
        except BaseException as error:
            if len(batch) == 1:
                batch[0].error, batch[0].done = error, True
                return
            for aggregate, events in pending:
                aggregate.pending_events[:] = events
            for slot in batch:  # who lost the race? each on its own
                self._save([slot])
            return
        start = 0
        for slot in batch:
            slot.positions, start = positions[start : start + slot.events], start + slot.events
            slot.done = True
