"""Wire models of queue tasks, their attempts, read cursors, stats and the commander snapshot."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from interfaces.http.limits import QueryInt
from interfaces.http.wire import Body, JsonObject, Out, PageQuery, Query

QueueTaskState = Literal["pending", "claimed", "running", "completed", "failed", "blocked", "cancelled"]
Name = Annotated[str, Field(min_length=1, max_length=256)]
# Priorities are stored as BIGINT on both databases.
Priority = Annotated[int, Field(ge=-(2**62), le=2**62)]


class CreateQueueTask(Body):
    tenant_id: Name
    project_id: Name
    queue: Name
    lane: Name
    priority: Priority
    payload: JsonObject
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)


class RecordAttempt(Body):
    state: QueueTaskState
    latest_attempt: JsonObject
    session_path: str | None = Field(default=None, max_length=1024)

    @field_validator("latest_attempt")
    @classmethod
    def _has_attempt_id(cls, value: JsonObject) -> JsonObject:
        attempt_id = value.get("attemptId")
        if not isinstance(attempt_id, str) or not attempt_id:
            raise ValueError("latestAttempt.attemptId must be a non-empty string")
        return value


class CancelQueueTask(Body):
    reason: str | None = Field(default=None, max_length=2000)


class MarkQueueTaskRead(Body):
    reader_id: Name


class QueueTaskListQuery(PageQuery):
    queue: str | None = None
    state: QueueTaskState | None = None
    updated_after: QueryInt | None = None


class QueueViewQuery(Query):
    queue: str | None = None
    min_position: QueryInt | None = None


class QueueTaskOut(Out):
    id: str
    tenant_id: str
    project_id: str
    queue: str
    lane: str
    priority: int
    payload: JsonObject
    payload_hash: str
    idempotency_key: str | None
    state: QueueTaskState
    version: int
    latest_attempt: JsonObject | None
    session_path: str | None
    attempts: int
    created_at: str
    updated_at: str
    cancelled_at: str | None
    cancel_reason: str | None
    position: int


class QueueTaskPage(Out):
    items: list[QueueTaskOut]
    count: int
    next_cursor: str | None


class QueueReadCursorOut(Out):
    task_id: str
    reader_id: str
    task_version: int
    read_at: str
    position: int


class QueueStatsOut(Out):
    queue: str | None
    total: int
    by_state: dict[str, int]
    by_lane: dict[str, int]
    max_version: int
    oldest_pending_age_ms: int | None
    generated_at: str


class QueueCommanderOut(Out):
    queue: str | None
    stats: QueueStatsOut
    items: list[QueueTaskOut]
    generated_at: str


class CancelMatching(Body):
    """A bulk cancel: every task in the caller's tenants matching the filter, not one page."""

    queue: Name | None = None
    state: QueueTaskState | None = None
    reason: str | None = Field(default=None, max_length=1024)


class CancelMatchingOut(Out):
    matched: int
    cancelled: int
    position: int | None
