"""Wire models of workers, LLMs, wakes and inference tasks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from interfaces.http.limits import QueryInt
from interfaces.http.wire import Body, JsonObject, Out, PageQuery, Query

Name = Field(min_length=1, max_length=256)
TaskStatus = Literal["pending", "claimed", "running", "completed", "error", "cancelled"]


class Provider(Body):
    name: str = Name
    model: str = Field(min_length=1, max_length=256)
    type: str | None = None
    tier: str | None = None
    pool_name: str | None = Field(default=None, min_length=1, max_length=256)
    hibernating: bool | None = None


class RegisterWorker(Body):
    worker_id: str | None = Field(default=None, min_length=1, max_length=256)
    providers: list[Provider] = Field(min_length=1, max_length=100)


class WorkerState(Body):
    worker_status: Any = None
    external_metadata: JsonObject | None = None
    internal_metadata: JsonObject | None = None


class LlmOut(Out):
    name: str
    model: str
    type: str | None
    tier: str | None
    pool_name: str
    worker_id: str
    status: Literal["active", "inactive", "hibernating"]


class RegisteredWorkerOut(Out):
    worker_id: str
    llms: list[LlmOut]


class WorkerOut(Out):
    worker_id: str
    status: Literal["active", "inactive"]
    bound: bool
    worker_status: Any
    external_metadata: JsonObject
    internal_metadata: JsonObject
    state: JsonObject
    llms: list[LlmOut]
    created_at: str
    updated_at: str
    position: int
    last_heartbeat_at: str | None = Field(default=None, description="the worker's last heartbeat, if any")


class WorkerList(Out):
    items: list[WorkerOut]
    count: int


class LlmList(Out):
    items: list[LlmOut]
    count: int


class RegistryQuery(Query):
    min_position: QueryInt | None = None


class WakeResult(Body):
    ok: bool
    error: str | None = None


class WakeResultOut(Out):
    wake_id: str
    llm_name: str
    ok: bool
    error: str | None


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
