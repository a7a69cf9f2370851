"""Session use cases: summaries, the attention list, traces and read cursors."""

from __future__ import annotations

from typing import Any

from application import access
from application.access import Principal
from application.base import UseCases
from application.errors import NotFoundError
from application.retry import retry_on_conflict
from application.run_events import RunEventUseCases
from domain.errors import SchemaInvalidError
from domain.run import Run
from domain.session import Session, session_aggregate_id
from projections import cursors, session_counts, session_queries, session_titles

OUTPUT_TYPES = frozenset({"assistant_message", "command_output", "diff", "error", "terminal_status"})


class SessionUseCases(UseCases):
    reads = ("session_summaries",)

    def __init__(self, *args: Any, run_events: RunEventUseCases, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.run_events = run_events

    def summary(
        self, principal: Principal, session_id: str, reader_id: str | None, min_position: int | None
    ) -> dict[str, Any]:
        principal.require(access.READ)
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            summary = session_queries.get_summary(cur, session_id, reader_id)
        if summary is None or not principal.sees(summary["tenantId"]):
            raise NotFoundError(f"session {session_id} was not found")
        return summary

    def page(
        self,
        principal: Principal,
        *,
        state: str | None,
        backend_profile: str | None,
        reader_id: str | None,
        changed_since: int | None,
        limit: int,
        cursor: str | None,
        min_position: int | None,
        search: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        principal.require(access.READ)
        words = session_titles.terms(search)
        if state is not None and state not in session_queries.LIST_STATES:
            raise SchemaInvalidError(f"unknown state {state!r}", allowed=list(session_queries.LIST_STATES))
        shape = session_queries.ATTENTION_SHAPE if changed_since is None else session_queries.CHANGE_SHAPE
        after = cursors.read_cursor(cursor, shape)
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            if changed_since is None:
                items, next_key = session_queries.list_sessions(
                    cur,
                    tenants=principal.tenant_filter(),
                    state=state or "default",
                    backend_profile=backend_profile,
                    reader_id=reader_id,
                    limit=limit,
                    after=after,
                    search=words,
                )
            else:
                items, next_key = session_queries.list_changed(
                    cur,
                    tenants=principal.tenant_filter(),
                    since=changed_since,
                    state=state or "all",
                    backend_profile=backend_profile,
                    reader_id=reader_id,
                    limit=limit,
                    after=after,
                    search=words,
                )
        return items, cursors.next_cursor(next_key)

    def trace(
        self,
        principal: Principal,
        session_id: str,
        *,
        run_id: str | None,
        after_seq: int,
        limit: int,
        output_only: bool,
        min_position: int | None,
    ) -> dict[str, Any]:
        """RunEvents of one run of the session (default: the active run, else the last)."""
        summary = self.summary(principal, session_id, None, min_position)
        run_id = run_id or summary["activeRunId"] or summary["lastRunId"]
        if run_id is None:
            return {
                "sessionId": session_id,
                "runId": None,
                "items": [],
                "count": 0,
                "nextCursor": None,
            }
        run = self.load(Run, run_id, principal, "run")
        if run.session_id != session_id:
            raise NotFoundError(f"run {run_id} does not belong to session {session_id}")
        items, next_seq = self.run_events.page_of(run, after_seq, limit)
        if output_only:
            items = [item for item in items if item["type"] in OUTPUT_TYPES]
        return {
            "sessionId": session_id,
            "runId": run_id,
            "items": items,
            "count": len(items),
            "nextCursor": None if next_seq is None else str(next_seq),
        }

    def mark_read(self, principal: Principal, session_id: str, reader_id: str) -> dict[str, Any]:
        """Record that the reader has seen the session as it is now."""
        principal.require(access.SESSION_MARK_READ)

        def attempt() -> int:
            session = self.load(Session, session_aggregate_id(session_id), principal, "session")
            session.mark_read(reader_id, self.clock())
            return self.store.save(session)[-1]

        position = retry_on_conflict(attempt)
        # The cursor's sessionVersion is what the view held when the mark was logged.
        self.wait_for_views(position)
        with self.views.read() as cur:
            row = session_queries.get_read_cursor(cur, session_id, reader_id)
        if row is None:  # pragma: no cover - the view processed the mark above
            raise NotFoundError(f"read cursor of {reader_id} on {session_id} was not found")
        return {
            "sessionId": session_id,
            "readerId": reader_id,
            "sessionVersion": row["session_version"],
            "readAt": row["read_at"],
            "position": position,
        }

    def counts(
        self,
        principal: Principal,
        *,
        backend_profile: str | None,
        reader_id: str | None,
        min_position: int | None,
    ) -> dict[str, int]:
        """How many sessions each list state holds, from the projection's counters (no scan)."""
        principal.require(access.READ)
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            return session_counts.counts(
                cur, tenants=principal.tenant_filter(), backend_profile=backend_profile, reader_id=reader_id
            )
