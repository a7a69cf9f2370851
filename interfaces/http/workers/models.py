"""Wire models of workers, LLMs and wakes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from interfaces.http.inference.models import Name
from interfaces.http.limits import QueryInt
from interfaces.http.wire import Body, JsonObject, Out, Query


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
