"""Errors every aggregate may raise; each carries the contract's error kind."""

from __future__ import annotations

from typing import Any


class AgentRunError(Exception):
    """Base of all expected errors; `kind` is the contract's error kind."""

    kind = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class SchemaInvalidError(AgentRunError):
    kind = "schema-invalid"


class ConflictError(AgentRunError):
    """A transition from a terminal state, or an idempotency key reused with another payload."""

    kind = "conflict"


class TerminalStateError(ConflictError):
    """The aggregate is terminal and cannot take this transition."""


class IdempotencyConflictError(ConflictError):
    """An idempotency key was reused with another payload."""


class ConcurrencyError(AgentRunError):
    """Another writer saved one of the aggregates first (compare-and-set on its version lost)."""

    kind = "conflict"
