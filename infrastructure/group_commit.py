"""Group commit: saves that arrive while another save is in flight go to the store together.

The store serialises writers with a table lock, so under load each save mostly waits for the lock.
A thread that finds a save in flight queues its aggregates; when that save ends, one queued thread
becomes the leader and saves everything queued in one transaction (one lock, one commit). Each
aggregate is still compare-and-set on its version: a batch that fails is saved again one caller at a
time, so only the caller that lost a race sees its `ConcurrencyError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# A transaction takes at most this many callers, and no more events than this unless one caller
# alone brings more: the wait of a queued caller stays bounded by one modest transaction.
MAX_BATCH = 64
MAX_EVENTS = 5_000

Save = Callable[..., list[int]]


class _Slot:
    def __init__(self, aggregates: tuple[Any, ...]) -> None:
        self.aggregates = aggregates
        self.events = sum(len(a.pending_events) for a in aggregates)
        self.positions: list[int] | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit:
    """`save(*aggregates)` with the store's meaning, batched with concurrent callers."""

    def __init__(self, save: Save, max_batch: int = MAX_BATCH, max_events: int = MAX_EVENTS) -> None:
        self._save_together = save
        self.max_batch = max_batch
        self.max_events = max_events
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
                batch = [slot]
                events = slot.events
                rest = [s for s in self._queue if s is not slot]
                taken = 0
                for queued in rest:
                    if len(batch) >= self.max_batch or events + queued.events > self.max_events:
                        break
                    batch.append(queued)
                    events += queued.events
                    taken += 1
                self._queue = rest[taken:]
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
            positions = self._save_together(*(a for s in batch for a in s.aggregates))
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
