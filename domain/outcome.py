"""How a run or a command ended, as the runner reports it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from domain.errors import SchemaInvalidError

TERMINAL_STATUSES = ("completed", "failed", "blocked", "cancelled")


@dataclass(frozen=True)
class Outcome:
    """A terminal status with its failure and, for threaded backends, the thread and turn."""

    terminal_status: str
    failure_kind: str | None = None
    failure_message: str | None = None
    thread_id: str | None = None
    turn_id: str | None = None

    def __post_init__(self) -> None:
        if self.terminal_status not in TERMINAL_STATUSES:
            raise SchemaInvalidError(f"unknown terminal status {self.terminal_status!r}")

    def fields(self) -> dict[str, Any]:
        """The outcome as event fields."""
        return asdict(self)

    def terminal_status_payload(self) -> dict[str, Any]:
        """The payload of the `terminal_status` run event that records it."""
        return {
            "terminalStatus": self.terminal_status,
            "failureKind": self.failure_kind,
            "message": self.failure_message,
        }
