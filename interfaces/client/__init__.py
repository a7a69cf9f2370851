"""The Python client of agentrun: typed routes, the worker-state uploader, the backend tracker, loops."""

from interfaces.client.backend_tracker import BackendTracker
from interfaces.client.client import AgentRunClient
from interfaces.client.core import StreamEvent
from interfaces.client.errors import (
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    RunnerLeaseConflict,
    SchemaInvalid,
    ServerError,
    StaleAttempt,
    TenantPolicyDenied,
    Timeout,
    Unauthorized,
    Unavailable,
)
from interfaces.client.uploader import WorkerStateUploader

__all__ = [
    "AgentRunClient",
    "BackendTracker",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "NotFound",
    "RunnerLeaseConflict",
    "SchemaInvalid",
    "ServerError",
    "StaleAttempt",
    "StreamEvent",
    "TenantPolicyDenied",
    "Timeout",
    "Unauthorized",
    "Unavailable",
    "WorkerStateUploader",
]
