"""Group commit: saves that arrive while another save is in flight go to the store together.

The store serialises writers with a table lock, so under load each save mostly waits for the lock.
A thread that finds a save in flight queues its aggregates and sleeps on its own wake-up. The
saving thread (the leader) takes everything queued, oldest first, in one transaction (one lock,
one commit), wakes exactly the callers it saved for, and hands the lead to the oldest caller still
queued: no caller is woken to find its save still pending (no thundering herd of 32 threads each
taking the GIL to go back to sleep). Each aggregate is still compare-and-set on its version: a
batch that fails is saved again one caller at a time, so only the caller that lost a race sees its
`ConcurrencyError`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

# A transaction takes at most this many callers, and no more events than this unless one caller
# alone brings more: the wait of a queued caller stays bounded by one modest transaction.
MAX_BATCH = 64
MAX_EVENTS = 5_000

Save = Callable[..., list[int]]


class _Slot:
    __slots__ = ("aggregates", "events", "positions", "error", "done", "_wake")

    def __init__(self, aggregates: tuple[Any, ...]) -> None:
        self.aggregates = aggregates
        self.events = sum(len(a.pending_events) for a in aggregates)
        self.positions: list[int] | None = None
        self.error: BaseException | None = None
        self.done = False
        # Held until this caller is woken: saved for (done) or handed the lead.
        self._wake = threading.Lock()
        self._wake.acquire()

    def wait(self) -> None:
        self._wake.acquire()

    def wake(self) -> None:
        self._wake.release()


class GroupCommit:
    """`save(*aggregates)` with the store's meaning, batched with concurrent callers."""

    def __init__(self, save: Save, max_batch: int = MAX_BATCH, max_events: int = MAX_EVENTS) -> None:
        self._save_together = save
        self.max_batch = max_batch
        self.max_events = max_events
        self._lock = threading.Lock()
        self._queue: deque[_Slot] = deque()
        self._saving = False
        self.batches = 0  # transactions made (for tests and benchmarks)

    def save(self, *aggregates: Any) -> list[int]:
        slot = _Slot(aggregates)
        with self._lock:
            self._queue.append(slot)
            lead = not self._saving
            self._saving = True
        if not lead:
            slot.wait()  # saved for by a leader, or made the leader
        if not slot.done:
            self._lead()
        if slot.error is not None:
            raise slot.error
        assert slot.positions is not None
        return slot.positions

    def _lead(self) -> None:
        """Save the oldest queued callers (this one first), wake them, pass the lead on."""
        with self._lock:
            batch = [self._queue.popleft()]
            events = batch[0].events
            while self._queue and len(batch) < self.max_batch:
                if events + self._queue[0].events > self.max_events:
                    break
                events += self._queue[0].events
                batch.append(self._queue.popleft())
        try:
            self._save(batch)
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._saving = successor is not None
            for saved in batch[1:]:
                saved.done = True
                saved.wake()
            batch[0].done = True
            if successor is not None:
                successor.wake()

    def _save(self, batch: list[_Slot]) -> None:
        # The store takes the pending events even when the save fails; kept to save them again.
        pending = [(a, list(a.pending_events)) for s in batch for a in s.aggregates]
        try:
            self.batches += 1
            positions = self._save_together(*(a for s in batch for a in s.aggregates))
        except BaseException as error:
            if len(batch) == 1:
                batch[0].error = error
                return
            for aggregate, events in pending:
                aggregate.pending_events[:] = events
            for slot in batch:  # who lost the race? each on its own
                self._save([slot])
            return
        start = 0
        for slot in batch:
            slot.positions, start = positions[start : start + slot.events], start + slot.events
