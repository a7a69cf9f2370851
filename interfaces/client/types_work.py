"""Typed shapes of queue tasks, workers, inference tasks, backends, the event log and projections."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

JsonObject = dict[str, Any]
TaskState = Literal["pending", "claimed", "running", "completed", "failed", "blocked", "cancelled"]
InferenceStatus = Literal["pending", "claimed", "running", "completed", "error", "cancelled"]


class QueueTask(TypedDict):
    id: str
    tenantId: str
    projectId: str
    queue: str
    lane: str
    priority: int
    payload: JsonObject
    payloadHash: str
    idempotencyKey: str | None
    state: TaskState
    version: int
    latestAttempt: JsonObject | None
    sessionPath: str | None
    attempts: int
    createdAt: str
    updatedAt: str
    cancelledAt: str | None
    cancelReason: str | None
    position: int


class QueueReadCursor(TypedDict):
    taskId: str
    readerId: str
    taskVersion: int
    readAt: str
    position: int


class QueueStats(TypedDict):
    queue: str | None
    total: int
    byState: dict[str, int]
    byLane: dict[str, int]
    maxVersion: int
    oldestPendingAgeMs: int | None
    generatedAt: str


class QueueCommander(TypedDict):
    queue: str | None
    stats: QueueStats
    items: list[QueueTask]
    generatedAt: str


class Provider(TypedDict, total=False):
    name: str
    model: str
    type: str
    tier: str
    poolName: str
    hibernating: bool


class Llm(TypedDict):
    name: str
    model: str
    type: str | None
    tier: str | None
    poolName: str
    workerId: str
    status: Literal["active", "inactive", "hibernating"]


class Registration(TypedDict):
    workerId: str
    llms: list[Llm]


class Worker(TypedDict):
    workerId: str
    status: Literal["active", "inactive"]
    bound: bool
    workerStatus: Any
    externalMetadata: JsonObject
    internalMetadata: JsonObject
    state: JsonObject
    llms: list[Llm]
    createdAt: str
    updatedAt: str
    position: int


class WorkerList(TypedDict):
    items: list[Worker]
    count: int


class LlmList(TypedDict):
    items: list[Llm]
    count: int


class WakeAnswer(TypedDict):
    wakeId: str
    llmName: str
    ok: bool
    error: str | None


class StatePatch(TypedDict, total=False):
    workerStatus: Any
    externalMetadata: JsonObject | None
    internalMetadata: JsonObject | None


class InferenceTask(TypedDict):
    id: str
    status: InferenceStatus
    poolName: str
    llmName: str
    model: str
    tier: str | None
    claimedBy: str | None
    requestBody: Any
    responseBody: Any
    errorMessage: str | None
    streaming: bool
    createdAt: str
    claimedAt: str | None
    streamStartedAt: str | None
    completedAt: str | None
    ownerId: str
    agentId: str | None
    position: int


class ChannelTask(TypedDict):
    """`event: task` on a worker's channel."""

    taskId: str
    llmName: str
    poolName: str
    model: str | None
    request: JsonObject
    streaming: bool


class ChannelWake(TypedDict):
    """`event: wake` on a worker's channel."""

    wakeId: str
    llmName: str


class BackendChange(TypedDict):
    runId: str
    current: str
    previous: str | None
    changed: bool
    position: int


class BackendSwitch(TypedDict):
    backendId: str
    cacheKey: str | None
    at: str


class RunBackend(TypedDict):
    runId: str
    current: str | None
    switches: int
    history: list[BackendSwitch]


class BackendProfile(TypedDict):
    profile: str
    capabilities: JsonObject
    activeRuns: int
    runsByBackend: dict[str, int]


class LogEvent(TypedDict):
    position: int
    aggregateType: str
    aggregateId: str
    aggregateVersion: int
    type: str
    timestamp: str
    actor: str | None  # who caused it (`system`: the server itself; null: stored before ADR 0030)
    requestId: str | None
    data: JsonObject


class LogPage(TypedDict):
    items: list[LogEvent]
    nextAfter: int | None


class ProjectionStall(TypedDict):
    position: int
    eventType: str | None
    message: str
    since: str


class ProjectionStatus(TypedDict):
    name: str
    position: int
    headPosition: int
    lag: int
    status: str  # caught-up, catching-up or stalled
    error: ProjectionStall | None


class AuditView(TypedDict):
    aggregateType: str
    aggregateId: str
    version: int
    position: int
    state: JsonObject
    history: list[LogEvent]
