"""One reader per process follows the head of the log and fans each batch out to every live tail.

A tail catches up with its own reads; once it is at the head it asks the hub to join. The hub admits
joiners only between its reads (so no batch is half-seen), reads the log after the lowest position
of its subscribers, matches each subscriber's filter and tenancy in a worker thread, and appends the
matches to each subscriber's bounded queue. A subscriber whose queue would overflow is dropped and
told to end its stream (ADR 0024): the hub never waits on a slow client.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from anyio import to_thread

from application.access import Principal
from application.event_log import EventFilter, EventLogUseCases, event_item
from infrastructure.signals import Signal
from interfaces.http.signal_bridge import AsyncSignal

log = logging.getLogger(__name__)

READ_BATCH = 500
# A joiner this far behind the hub (or less) is admitted; the hub's next read starts at its position.
JOIN_GAP = 500
POLL_SECONDS = 1.0


@dataclass
class Entry:
    """One matched event, encoded once for every subscriber that gets it."""

    position: int
    type: str
    data: str


@dataclass(eq=False)
class Subscriber:
    """A live tail: its principal and filter, what it has been given, and its bounded queue."""

    principal: Principal
    flt: EventFilter
    upto: int
    limit: int
    abort: anyio.Event
    queue: deque[Entry] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def offer(self, entries: Sequence[Entry], upto: int) -> bool:
        """Queue the entries; False (and the stream told to end) if the queue would overflow."""
        self.upto = max(self.upto, upto)
        if not entries:
            return True
        if len(self.queue) + len(entries) > self.limit:
            self.overflowed = True
            self.queue.clear()
            self.abort.set()
            self.wake.set()
            return False
        self.queue.extend(entries)
        self.wake.set()
        return True


@dataclass
class _Read:
    last: int
    full: bool
    matches: dict[Subscriber, list[Entry]]


class TailHub:
    """The shared reader of one process (one event loop)."""

    def __init__(self, event_log: EventLogUseCases, signal: Signal, buffer: int) -> None:
        self.event_log = event_log
        self.signal = signal
        self.buffer = buffer
        self.position = 0
        self.subscribers: set[Subscriber] = set()
        self._joiners: list[tuple[Subscriber, asyncio.Future[bool]]] = []
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The hub's reads and matching run on a thread of their own, beside the catch-up reads.
        self._thread = anyio.CapacityLimiter(1)
        self._bridge: AsyncSignal | None = None

    def subscriber(self, principal: Principal, flt: EventFilter, upto: int, abort: anyio.Event) -> Subscriber:
        return Subscriber(principal, flt, upto, self.buffer, abort)

    async def join(self, sub: Subscriber) -> bool:
        """Ask to join at `sub.upto` (a position a catch-up read reached); False: catch up further."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="tail-hub")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._joiners.append((sub, future))
        self._woken.set()
        return await future

    def leave(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        self._joiners = [(s, f) for s, f in self._joiners if s is not sub]

    def _admit(self) -> None:
        joiners, self._joiners = self._joiners, []
        for sub, future in joiners:
            if future.done():
                continue
            admitted = not self.subscribers or sub.upto >= self.position - JOIN_GAP
            if admitted:
                if not self.subscribers:
                    self.position = sub.upto
                self.subscribers.add(sub)
            future.set_result(admitted)

    async def _run(self) -> None:
        if self._bridge is None:  # one relay thread per hub, however often its task restarts
            self._bridge = AsyncSignal(self.signal, asyncio.get_running_loop())
        bridge = self._bridge
        backoff = 0.1
        while True:
            try:
                await self._cycle(bridge)
                backoff = 0.1
            except Exception as error:  # noqa: BLE001 - the database went away: retry, tails wait
                log.warning("tail hub read failed, retrying: %s", type(error).__name__)
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _cycle(self, bridge: Any) -> None:
        """Admit joiners, read one batch after the lowest subscriber, hand out the matches."""
        generation = bridge.generation
        self._admit()
        if not self.subscribers:
            self._woken.clear()
            await self._woken.wait()
            return
        subs = list(self.subscribers)
        start = min(sub.upto for sub in subs)
        read = await to_thread.run_sync(self._read_and_match, start, subs, limiter=self._thread)
        self.position = max(self.position, read.last)
        for sub in subs:
            if sub in self.subscribers and not sub.offer(read.matches.get(sub, []), read.last):
                self.subscribers.discard(sub)
        if not read.full:
            await self._wait(bridge, generation)

    async def _wait(self, bridge: Any, generation: int) -> None:
        """Until the log may have grown (a signal, or the poll timer) or a tail asks to join."""
        self._woken.clear()
        if self._joiners:
            return
        waits = [bridge.wait(generation, POLL_SECONDS), self._woken.wait()]
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()

    def _read_and_match(self, start: int, subs: list[Subscriber]) -> _Read:
        """In a worker thread: one batch after `start`, matched per distinct (principal, filter)."""
        batch = self.event_log.source.read(start, READ_BATCH)
        last = batch[-1][0] if batch else start
        encoded: dict[int, Entry] = {}
        by_view: dict[tuple[Principal, EventFilter], list[Entry]] = {}
        matches: dict[Subscriber, list[Entry]] = {}
        for sub in subs:
            key = (sub.principal, sub.flt)
            if key not in by_view:
                by_view[key] = [
                    self._entry(encoded, position, event)
                    for position, event in batch
                    if self.event_log.visible(sub.principal, event, sub.flt)
                ]
            matches[sub] = [e for e in by_view[key] if e.position > sub.upto]
        return _Read(last, len(batch) == READ_BATCH, matches)

    @staticmethod
    def _entry(encoded: dict[int, Entry], position: int, event: Any) -> Entry:
        found = encoded.get(position)
        if found is None:
            item = event_item(position, event)
            found = encoded[position] = Entry(position, item["type"], orjson.dumps(item).decode())
        return found
