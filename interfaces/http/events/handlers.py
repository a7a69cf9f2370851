"""Handlers of the event log: pages, the SSE tail, and audit."""

from __future__ import annotations

from typing import Any

from application.event_log import EVENTS_PERMISSION, EventFilter
from interfaces.http import limits
from interfaces.http.endpoint import Call
from interfaces.http.events.models import AuditQuery, EventsQuery
from interfaces.http.sse import sse_response
from interfaces.http.tail import Tail


def _filter(call: Call, q: EventsQuery) -> EventFilter:
    # `types=A,B` and `types=A&types=B` mean the same.
    types = ",".join(call.query_params.getlist("types")) or q.types
    return EventFilter.parse(types, q.aggregate_id, q.run_id, q.session_id)


def list_events(call: Call) -> Any:
    q = call.query(EventsQuery)
    return call.app.event_log.page(call.principal, q.after, q.limit, _filter(call, q))


def _resume_after(call: Call, q: EventsQuery) -> int:
    """`Last-Event-ID` (a reconnecting client) wins over `after=`."""
    last_id = call.headers.get("last-event-id")
    if last_id is None or not last_id.strip():
        return q.after
    return limits.bounded_int(last_id.strip(), "lastEventId")


def stream_events(call: Call) -> Any:
    q = call.query(EventsQuery)
    call.principal.require(EVENTS_PERMISSION)
    after = _resume_after(call, q)
    http = call.app.http
    stream = Tail(call.app.event_log, http.tail_hubs, http.tail_readers)
    events = stream.run(call.principal, after, _filter(call, q))
    return sse_response(events, keepalive=http.sse_keepalive, abort=stream.abort)


def audit(call: Call) -> Any:
    q = call.query(AuditQuery)
    return call.app.audit.audit(call.principal, call.path["aggregateId"], q.version, q.at)
