"""Handlers of the event log: pages, the SSE tail, and audit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from anyio import to_thread

from application.access import Principal
from application.event_log import EVENTS_PERMISSION, EventFilter, EventLogUseCases
from domain.errors import SchemaInvalidError
from interfaces.http.endpoint import Call
from interfaces.http.models_events import AuditQuery, EventsQuery
from interfaces.http.signal_bridge import async_signal
from interfaces.http.sse import ServerSentEvent, event, sse_response

log = logging.getLogger(__name__)

# Re-read the log at least this often, whatever the signals say (a lost NOTIFY only delays).
TAIL_POLL_SECONDS = 1.0
RETRY_MS = 1000
STREAM_BATCH = 500
# Tails read the log on their own threads, so many tails cannot starve request handlers.
_TAIL_READERS = anyio.CapacityLimiter(8)


def _filter(q: EventsQuery) -> EventFilter:
    return EventFilter.parse(q.types, q.aggregate_id, q.run_id, q.session_id)


def list_events(call: Call) -> Any:
    q = call.query(EventsQuery)
    return call.app.event_log.page(call.principal, q.after, q.limit, _filter(q))


def _resume_after(call: Call, q: EventsQuery) -> int:
    """`Last-Event-ID` (a reconnecting client) wins over `after=`."""
    last_id = call.headers.get("last-event-id")
    if last_id is None or not last_id.strip():
        return q.after
    if not last_id.strip().isdigit():
        raise SchemaInvalidError("Last-Event-ID must be a log position", lastEventId=last_id)
    return int(last_id)


def stream_events(call: Call) -> Any:
    q = call.query(EventsQuery)
    call.principal.require(EVENTS_PERMISSION)
    after = _resume_after(call, q)
    return sse_response(tail(call.app.event_log, call.app.events_signal, call.principal, after, _filter(q)))


async def tail(
    event_log: EventLogUseCases, signal: Any, principal: Principal, after: int, flt: EventFilter
) -> AsyncIterator[ServerSentEvent]:
    """Every matching event after `after`, once and in order, then each new one as it commits."""
    bridge = async_signal(signal)
    yield ServerSentEvent(retry=RETRY_MS)
    last = after
    backoff = 0.1
    while True:
        generation = bridge.generation
        try:
            scan = await to_thread.run_sync(
                event_log.scan, principal, last, STREAM_BATCH, flt, limiter=_TAIL_READERS
            )
        except Exception as error:  # noqa: BLE001 - the database went away: retry from `last`
            log.warning("tail read failed, retrying: %s", type(error).__name__)
            await anyio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
            continue
        backoff = 0.1
        for item in scan.items:
            yield event(item["type"], item, item["position"])
        last = scan.last
        if scan.at_end:
            await bridge.wait(generation, TAIL_POLL_SECONDS)


def audit(call: Call) -> Any:
    q = call.query(AuditQuery)
    return call.app.audit.audit(call.principal, call.path["aggregateId"], q.version, q.at)
