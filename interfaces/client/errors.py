"""Typed errors of the client: one class per error-envelope kind, plus connection failures."""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """An error the server answered with (or a failure to reach it), carrying the envelope's fields."""

    kind: str = "internal"

    def __init__(
        self, message: str, *, kind: str | None = None, status: int = 0, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.status = status
        self.message = message
        self.details = details or {}

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (outages, timeouts, server errors)."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, status={self.status}, message={self.message!r})"


class Unauthorized(ClientError):
    kind = "unauthorized"


class Forbidden(ClientError):
    kind = "forbidden"


class TenantPolicyDenied(Forbidden):
    kind = "tenant-policy-denied"


class NotFound(ClientError):
    kind = "not-found"


class MethodNotAllowed(ClientError):
    kind = "method-not-allowed"


class SchemaInvalid(ClientError):
    kind = "schema-invalid"


class Conflict(ClientError):
    kind = "conflict"


class RunnerLeaseConflict(Conflict):
    kind = "runner-lease-conflict"


class StaleAttempt(Conflict):
    kind = "stale-attempt"


class Unavailable(ClientError):
    kind = "unavailable"

    @property
    def retryable(self) -> bool:
        return True


class ConnectionFailed(Unavailable):
    """The server could not be reached or the connection broke (no envelope was received)."""


class Timeout(ClientError):
    kind = "timeout"

    @property
    def retryable(self) -> bool:
        return True


class ServerError(ClientError):
    """A 5xx that is neither `unavailable` nor `timeout` (kind `internal`, or no envelope at all)."""

    kind = "internal"

    @property
    def retryable(self) -> bool:
        return True


ERROR_CLASSES: dict[str, type[ClientError]] = {
    cls.kind: cls
    for cls in (
        Unauthorized,
        Forbidden,
        TenantPolicyDenied,
        NotFound,
        MethodNotAllowed,
        SchemaInvalid,
        Conflict,
        RunnerLeaseConflict,
        StaleAttempt,
        Unavailable,
        Timeout,
        ServerError,
    )
}


def error_from_response(response: httpx.Response) -> ClientError:
    """The typed error for a 4xx/5xx response; a body without the envelope still gives a typed error."""
    try:
        envelope = response.json()["error"]
        kind, message = str(envelope["kind"]), str(envelope["message"])
        details = envelope.get("details") or {}
    except (ValueError, KeyError, TypeError):
        kind = "internal" if response.status_code >= 500 else "unknown"
        message, details = response.text[:500] or response.reason_phrase, {}
    cls = ERROR_CLASSES.get(kind)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else ClientError
    return cls(message, kind=kind, status=response.status_code, details=details)


def connection_failed(error: httpx.TransportError) -> ConnectionFailed:
    """Wrap a transport failure (refused, reset, read timeout) so callers catch one family of errors."""
    return ConnectionFailed(f"{type(error).__name__}: {error}", kind="unavailable", status=0)
