"""One `/events/stream` client: its own catch-up reads, then the batches the process's hub hands it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
from anyio import CapacityLimiter, to_thread

from application.access import Principal
from application.event_log import EventFilter, EventLogUseCases
from interfaces.http.per_loop import PerLoop
from interfaces.http.sse import ServerSentEvent, event
from interfaces.http.tail_hub import TailHub

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_MS = 1000
STREAM_BATCH = 500


class Tail:
    """One `/events/stream` client: catch up with own reads, then take batches from the hub."""

    def __init__(self, event_log: EventLogUseCases, hubs: PerLoop[TailHub], readers: CapacityLimiter) -> None:
        self.event_log = event_log
        self.hubs = hubs
        # Catch-up reads run on their own threads, so many tails cannot starve request handlers.
        self.readers = readers
        # Set when the client's queue overflows: the response ends even mid-send (ADR 0024).
        self.abort = anyio.Event()

    async def run(self, principal: Principal, after: int, flt: EventFilter) -> AsyncIterator[ServerSentEvent]:
        """Every matching event after `after`, once and in order, then each new one as it commits."""
        yield ServerSentEvent(retry=RETRY_MS)
        hub = self.hubs.get()
        # `last` is what the client has; `upto` how far the log was examined for it. A resume id
        # beyond the head is kept for `last` but never lets a read start past the real head.
        last = after
        upto = min(after, await self._retrying(self.event_log.head))
        while True:
            scan = await self._retrying(self.event_log.scan, principal, upto, STREAM_BATCH, flt)
            for item in scan.items:
                if item["position"] > last:
                    last = item["position"]
                    yield event(item["type"], item, item["position"])
            upto = scan.last
            if not scan.at_end:
                continue
            sub = hub.subscriber(principal, flt, upto, self.abort)
            try:
                if not await hub.join(sub):
                    continue  # the hub moved on meanwhile: read up to it again
                while not sub.overflowed:
                    await sub.wake.wait()
                    sub.wake.clear()
                    while sub.queue and not sub.overflowed:
                        entry = sub.queue.popleft()
                        if entry.position > last:
                            last = entry.position
                            yield ServerSentEvent(entry.data, event=entry.type, id=str(entry.position))
                return  # overflowed: the stream ends and the client resumes from its last id
            finally:
                hub.leave(sub)

    async def _retrying(self, read: Callable[..., T], *args: Any) -> T:
        """A read on a tail thread, retried with backoff while the database is away."""
        backoff = 0.1
        while True:
            try:
                return await to_thread.run_sync(read, *args, limiter=self.readers)
            except Exception as error:  # noqa: BLE001 - the database went away: retry the same read
                log.warning("tail read failed, retrying: %s", type(error).__name__)
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
