"""Routes of sessions: summaries, lists, traces, output and read cursors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from interfaces.client.core import HttpCore
from interfaces.client.types_runs import MarkedRead, Page, SessionSummary, Trace

SessionState = Literal["default", "running", "unread", "terminal", "idle", "all"]


class Sessions:
    """`/sessions`: a summary, the attention-sorted list, a run's trace and output, marking read."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def get(
        self, session_id: str, *, reader_id: str | None = None, min_position: int | None = None
    ) -> SessionSummary:
        params = {"readerId": reader_id, "minPosition": min_position}
        result: SessionSummary = self.core.request("GET", f"/sessions/{session_id}", params=params)
        return result

    def list(
        self,
        *,
        state: SessionState | None = None,
        backend_profile: str | None = None,
        reader_id: str | None = None,
        changed_since: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> Page[SessionSummary]:
        params = {
            "state": state,
            "backendProfile": backend_profile,
            "readerId": reader_id,
            "changedSince": changed_since,
            "limit": limit,
            "cursor": cursor,
            "minPosition": min_position,
        }
        result: Page[SessionSummary] = self.core.request("GET", "/sessions", params=params)
        return result

    def iter(
        self,
        *,
        state: SessionState | None = None,
        backend_profile: str | None = None,
        reader_id: str | None = None,
        limit: int = 100,
        min_position: int | None = None,
    ) -> Iterator[SessionSummary]:
        """Every session of the list, following `nextCursor` to the end."""
        cursor: str | None = None
        while True:
            page = self.list(
                state=state,
                backend_profile=backend_profile,
                reader_id=reader_id,
                limit=limit,
                cursor=cursor,
                min_position=min_position,
            )
            yield from page["items"]
            cursor = page["nextCursor"]
            if not cursor:
                return

    def trace(
        self,
        session_id: str,
        *,
        run_id: str | None = None,
        after_seq: int = 0,
        limit: int | None = None,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> Trace:
        return self._events("trace", session_id, run_id, after_seq, limit, cursor, min_position)

    def output(
        self,
        session_id: str,
        *,
        run_id: str | None = None,
        after_seq: int = 0,
        limit: int | None = None,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> Trace:
        return self._events("output", session_id, run_id, after_seq, limit, cursor, min_position)

    def mark_read(self, session_id: str, reader_id: str) -> MarkedRead:
        result: MarkedRead = self.core.request(
            "POST", f"/sessions/{session_id}/read", json={"readerId": reader_id}
        )
        return result

    def _events(
        self,
        which: str,
        session_id: str,
        run_id: str | None,
        after_seq: int,
        limit: int | None,
        cursor: str | None,
        min_position: int | None,
    ) -> Trace:
        params = {
            "runId": run_id,
            "afterSeq": after_seq,
            "limit": limit,
            "cursor": cursor,
            "minPosition": min_position,
        }
        result: Trace = self.core.request("GET", f"/sessions/{session_id}/{which}", params=params)
        return result
