"""Errors raised by use cases, beside those the aggregates raise."""

from __future__ import annotations

from domain.errors import AgentRunError


class NotFoundError(AgentRunError):
    kind = "not-found"


class UnauthorizedError(AgentRunError):
    kind = "unauthorized"


class ForbiddenError(AgentRunError):
    kind = "forbidden"


class ReadTimeoutError(AgentRunError):
    """A projection did not reach the requested position in time."""

    kind = "timeout"


class UnavailableError(AgentRunError):
    kind = "unavailable"
