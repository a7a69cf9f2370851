"""Handlers of sessions and read cursors."""

from __future__ import annotations

from typing import Any

from interfaces.http import limits
from interfaces.http.endpoint import Call, page
from interfaces.http.sessions.models import SessionCountsQuery, SessionListQuery, SessionQuery, TraceQuery


def get_session(call: Call) -> Any:
    q = call.query(SessionQuery)
    return call.app.sessions.summary(call.principal, call.path["sessionId"], q.reader_id, q.min_position)


def list_sessions(call: Call) -> Any:
    q = call.query(SessionListQuery)
    items, next_cursor = call.app.sessions.page(
        call.principal,
        state=q.state,
        backend_profile=q.backend_profile,
        reader_id=q.reader_id,
        changed_since=q.changed_since,
        limit=q.limit,
        cursor=q.cursor,
        min_position=q.min_position,
        search=q.q,
    )
    return page(items, next_cursor)


def _trace(call: Call, output_only: bool) -> Any:
    q = call.query(TraceQuery)
    start = q.after_seq
    if q.cursor is not None:
        start = limits.bounded_int(q.cursor, "cursor")
    return call.app.sessions.trace(
        call.principal,
        call.path["sessionId"],
        run_id=q.run_id,
        after_seq=start,
        limit=q.limit,
        output_only=output_only,
        min_position=q.min_position,
    )


def session_trace(call: Call) -> Any:
    return _trace(call, output_only=False)


def session_output(call: Call) -> Any:
    return _trace(call, output_only=True)


def mark_read(call: Call) -> Any:
    return call.app.sessions.mark_read(call.principal, call.path["sessionId"], call.body.reader_id)


def session_counts(call: Call) -> Any:
    q = call.query(SessionCountsQuery)
    return call.app.sessions.counts(
        call.principal, backend_profile=q.backend_profile, reader_id=q.reader_id, min_position=q.min_position
    )
