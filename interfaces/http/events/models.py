"""Wire models of the event log, its tail and audit."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from interfaces.http.limits import QueryInt
from interfaces.http.wire import JsonObject, Out, Query


class EventsQuery(Query):
    after: QueryInt = 0
    limit: int = Field(default=50, ge=1, le=500)
    types: str | None = None
    aggregate_id: str | None = None
    run_id: str | None = None
    session_id: str | None = None


class EventItem(Out):
    position: int
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    type: str
    timestamp: str
    actor: str | None = Field(description="the principal that caused it; `system` for the server's own jobs")
    request_id: str | None = Field(description="the HTTP request that caused it (its `X-Request-Id`)")
    data: JsonObject


class EventPage(Out):
    items: list[EventItem]
    next_after: int | None = Field(description="pass as `after` for the next page; null at the head")


class AuditQuery(Query):
    version: QueryInt | None = Field(default=None, ge=1)
    at: datetime | None = None


class AuditOut(Out):
    aggregate_type: str
    aggregate_id: str
    version: int
    position: int
    state: JsonObject
    history: list[EventItem]


