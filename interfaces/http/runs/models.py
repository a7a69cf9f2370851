"""Wire models of runs, run events, runners and runner jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from interfaces.http.commands.models import FinishCommand, Id, TerminalStatus
from interfaces.http.wire import Body, JsonObject, Out, Query

NonEmptyStr = Annotated[str, Field(min_length=1, max_length=256)]


class SessionRefIn(Body):
    session_id: str = Field(min_length=1, max_length=256)
    conversation_id: str | None = None
    thread_id: str | None = None
    metadata: JsonObject | None = None
    expires_at: datetime | None = None


class CreateRun(Body):
    tenant_id: NonEmptyStr
    project_id: NonEmptyStr
    backend_profile: NonEmptyStr
    session_ref: SessionRefIn | None = None
    resource_bundle_ref: JsonObject | None = None


class ClaimRun(Body):
    runner_id: NonEmptyStr
    lease_ms: int = Field(ge=1, le=86_400_000)


class Heartbeat(Body):
    runner_id: NonEmptyStr
    claim_epoch: int = Field(ge=0)
    lease_ms: int = Field(ge=1, le=86_400_000)


class AppendRunEvent(Body):
    type: str = Field(min_length=1, max_length=64)
    payload: JsonObject
    runner_id: str | None = None
    claim_epoch: int | None = Field(default=None, ge=0)


class AppendRunEvents(Body):
    events: list[AppendRunEvent] = Field(min_length=1, max_length=500)


class FinishRun(FinishCommand):
    claim_epoch: int | None = Field(default=None, ge=0)


class Cancel(Body):
    reason: str | None = Field(default=None, max_length=2000)


class RegisterRunner(Body):
    id: str | None = Field(default=None, min_length=1, max_length=256)
    labels: JsonObject | None = None


class RecordRunnerJob(Body):
    command_id: NonEmptyStr
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    attempt_id: NonEmptyStr
    runner_id: NonEmptyStr
    namespace: NonEmptyStr
    job_name: NonEmptyStr
    image: NonEmptyStr
    source_commit: NonEmptyStr
    service_account_name: str | None = None
    result: JsonObject | None = None


class RunnerJobQuery(Query):
    command_id: str | None = None


class RunOut(Out):
    id: Id
    tenant_id: str
    project_id: str
    backend_profile: str
    session_ref: JsonObject | None
    resource_bundle_ref: JsonObject | None
    status: Literal["pending", "claimed", "completed", "failed", "blocked", "cancelled"]
    terminal_status: TerminalStatus | None
    failure_kind: str | None
    failure_message: str | None
    claimed_by: str | None
    claim_epoch: int
    lease_expires_at: str | None
    created_at: str
    updated_at: str
    position: int


class RunEventOut(Out):
    run_id: Id
    seq: int
    type: str
    payload: JsonObject
    created_at: str
    position: int


class RunEventPage(Out):
    items: list[RunEventOut]
    count: int
    next_cursor: str | None


class RunEventBatchOut(Out):
    items: list[RunEventOut]
    count: int
    position: int


class RunnerOut(Out):
    id: Id
    labels: JsonObject
    registered_at: str
    heartbeat_at: str
    position: int


class RunnerJobOut(Out):
    id: Id
    run_id: Id
    command_id: Id
    idempotency_key: str | None
    payload_hash: str
    attempt_id: str
    runner_id: str
    namespace: str
    job_name: str
    image: str
    source_commit: str
    service_account_name: str | None
    result: JsonObject
    created_at: str
    updated_at: str
    position: int


class RunnerJobList(Out):
    items: list[RunnerJobOut]
    count: int
