"""Wire models of inference tasks: enqueue, read, list, worker chunks and results, infer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from interfaces.http.limits import QueryInt
from interfaces.http.wire import Body, JsonObject, Out, PageQuery, Query

Name = Field(min_length=1, max_length=256)
TaskStatus = Literal["pending", "claimed", "running", "completed", "error", "cancelled"]


class EnqueueTask(Body):
    llm_name: str = Name
    request: JsonObject
    stream: bool = False
    agent_id: str | None = Field(default=None, max_length=256)
    fail_fast: bool = False


class TaskQuery(Query):
    wait_ms: int | None = Field(default=None, ge=0, le=600_000)


class TaskListQuery(PageQuery):
    status: TaskStatus | None = None
    pool_name: str | None = None
    agent_id: str | None = None


class TaskCountsQuery(Query):
    min_position: QueryInt | None = None


class TaskCounts(Out):
    pending: int
    claimed: int
    running: int
    completed: int
    error: int
    cancelled: int


class PostChunk(Body):
    worker_id: str = Name
    data: Any
    done: bool = False


class PostResult(Body):
    worker_id: str = Name
    status: Literal["completed", "error"] | None = None
    body: Any = None
    error: str | None = None

    @model_validator(mode="after")
    def _body_or_error(self) -> PostResult:
        if "body" not in self.model_fields_set and self.error is None:
            raise ValueError("a result needs `body` or `error`")
        return self


class InferBody(Body):
    """An OpenAI chat-completion body: passed to the worker as it is."""

    model_config = ConfigDict(extra="allow")
    stream: bool = False


class InferenceTaskOut(Out):
    id: str
    status: TaskStatus
    pool_name: str
    llm_name: str
    model: str
    tier: str | None
    claimed_by: str | None
    request_body: Any
    response_body: Any
    error_message: str | None
    streaming: bool
    created_at: str
    claimed_at: str | None
    stream_started_at: str | None
    completed_at: str | None
    owner_id: str
    agent_id: str | None
    position: int


class InferenceTaskPage(Out):
    items: list[InferenceTaskOut]
    count: int
    next_cursor: str | None
