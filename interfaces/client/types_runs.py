"""Typed shapes of runs, run events, commands, runners, sessions and read cursors, as sent on the wire."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypedDict, TypeVar

JsonObject = dict[str, Any]
TerminalStatus = Literal["completed", "failed", "blocked", "cancelled"]
RunStatus = Literal["pending", "claimed", "completed", "failed", "blocked", "cancelled"]
CommandType = Literal["turn", "steer", "interrupt"]
CommandState = Literal["pending", "acknowledged", "completed", "failed", "cancelled"]
RunEventType = Literal[
    "backend_status",
    "assistant_message",
    "reasoning",
    "tool_call",
    "tool_result",
    "command_output",
    "diff",
    "usage",
    "error",
    "terminal_status",
]

T = TypeVar("T")


class Page(TypedDict, Generic[T]):
    items: list[T]
    count: int
    nextCursor: str | None


class SessionRef(TypedDict, total=False):
    sessionId: str
    conversationId: str | None
    threadId: str | None
    metadata: JsonObject | None
    expiresAt: str | None


class Run(TypedDict):
    id: str
    tenantId: str
    projectId: str
    backendProfile: str
    sessionRef: JsonObject | None
    resourceBundleRef: JsonObject | None
    status: RunStatus
    terminalStatus: TerminalStatus | None
    failureKind: str | None
    failureMessage: str | None
    claimedBy: str | None
    claimEpoch: int
    leaseExpiresAt: str | None
    createdAt: str
    updatedAt: str
    position: int


class RunEvent(TypedDict):
    runId: str
    seq: int
    type: str
    payload: JsonObject
    createdAt: str
    position: int


class NewRunEvent(TypedDict, total=False):
    type: str
    payload: JsonObject
    runnerId: str
    claimEpoch: int


class RunEventBatch(TypedDict):
    items: list[RunEvent]
    count: int
    position: int


class Command(TypedDict):
    id: str
    runId: str
    seq: int
    type: CommandType
    payload: JsonObject
    state: CommandState
    idempotencyKey: str | None
    payloadHash: str
    createdAt: str
    updatedAt: str
    acknowledgedAt: str | None
    position: int


class Runner(TypedDict):
    id: str
    labels: JsonObject
    registeredAt: str
    heartbeatAt: str
    position: int


class RunnerJob(TypedDict):
    id: str
    runId: str
    commandId: str
    idempotencyKey: str | None
    payloadHash: str
    attemptId: str
    runnerId: str
    namespace: str
    jobName: str
    image: str
    sourceCommit: str
    serviceAccountName: str | None
    result: JsonObject
    createdAt: str
    updatedAt: str
    position: int


class RunnerJobList(TypedDict):
    items: list[RunnerJob]
    count: int


class ReadCursor(TypedDict):
    sessionId: str
    readerId: str | None
    sessionVersion: int
    readAt: str


class SessionSummary(TypedDict):
    sessionId: str
    tenantId: str
    projectId: str
    backendProfile: str
    conversationId: str | None
    threadId: str | None
    metadata: JsonObject
    version: int
    executionState: Literal["idle", "running", "terminal"]
    lastRunId: str | None
    lastCommandId: str | None
    activeRunId: str | None
    activeCommandId: str | None
    lastEventSeq: int
    terminalStatus: str | None
    failureKind: str | None
    title: str | None
    lastActivityAt: str
    createdAt: str
    updatedAt: str
    expiresAt: str | None
    sessionPath: str
    readerId: str | None
    readCursor: ReadCursor | None
    attentionState: Literal["active", "unread", "read"]
    active: bool
    unread: bool


class Trace(TypedDict):
    sessionId: str
    runId: str | None
    items: list[RunEvent]
    count: int
    nextCursor: str | None


class MarkedRead(TypedDict):
    sessionId: str
    readerId: str
    sessionVersion: int
    readAt: str
    position: int


class Health(TypedDict):
    adapter: Literal["postgres", "sqlite"]
    ready: bool
    reachable: bool
    migrationReady: bool
    failureKind: str | None
    message: str | None
