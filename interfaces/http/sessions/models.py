"""Wire models of sessions, their lists, traces and read cursors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from interfaces.http.limits import QueryInt
from interfaces.http.runs.models import RunEventOut
from interfaces.http.wire import Body, JsonObject, Out, PageQuery, Query


class SessionQuery(Query):
    reader_id: str | None = None
    min_position: QueryInt | None = None


class SessionListQuery(PageQuery):
    state: Literal["default", "running", "unread", "terminal", "idle", "all"] | None = None
    backend_profile: str | None = None
    reader_id: str | None = None
    changed_since: QueryInt | None = None
    # Title search: every word of `q` starts a word of the title, case-insensitively.
    q: str | None = Field(default=None, max_length=200)


class SessionCountsQuery(Query):
    backend_profile: str | None = None
    reader_id: str | None = None
    min_position: int | None = Field(default=None, ge=0)


class TraceQuery(Query):
    run_id: str | None = None
    after_seq: QueryInt = 0
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None
    min_position: QueryInt | None = None


class MarkRead(Body):
    reader_id: str = Field(min_length=1, max_length=256)


class ReadCursorOut(Out):
    session_id: str
    reader_id: str | None
    session_version: int
    read_at: str


class SessionSummaryOut(Out):
    session_id: str
    tenant_id: str
    project_id: str
    backend_profile: str
    conversation_id: str | None
    thread_id: str | None
    metadata: JsonObject
    version: int
    execution_state: Literal["idle", "running", "terminal"]
    last_run_id: str | None
    last_command_id: str | None
    active_run_id: str | None
    active_command_id: str | None
    last_event_seq: int
    terminal_status: str | None
    failure_kind: str | None
    title: str | None
    last_activity_at: str
    created_at: str
    updated_at: str
    expires_at: str | None
    session_path: str
    reader_id: str | None
    read_cursor: ReadCursorOut | None
    attention_state: Literal["active", "unread", "read"]
    active: bool
    unread: bool


class SessionPage(Out):
    items: list[SessionSummaryOut]
    count: int
    next_cursor: str | None


class TracePage(Out):
    session_id: str
    run_id: str | None
    items: list[RunEventOut]
    count: int
    next_cursor: str | None


class MarkReadOut(Out):
    session_id: str
    reader_id: str
    session_version: int
    read_at: str
    position: int


class SessionCountsOut(Out):
    running: int
    unread: int
    terminal: int
    idle: int
    all: int
    default: int
