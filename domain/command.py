"""The Command aggregate: a turn, steer or interrupt sent to a run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.base import Aggregate
from domain.errors import SchemaInvalidError
from domain.outcome import Outcome

COMMAND_TYPES = ("turn", "steer", "interrupt")
TERMINAL_STATES = ("completed", "failed", "cancelled")
_STATE_OF_TERMINAL = {
    "completed": "completed",
    "failed": "failed",
    "blocked": "failed",
    "cancelled": "cancelled",
}


class Command(Aggregate):
    """A command and its lifecycle: pending → acknowledged → completed | failed | cancelled."""

    class Created(Aggregate.Created):
        run_id: str
        tenant_id: str
        session_id: str | None
        seq: int
        type: str
        payload: dict[str, Any]
        idempotency_key: str | None
        payload_hash: str

    @staticmethod
    def check_type(command_type: str) -> None:
        if command_type not in COMMAND_TYPES:
            raise SchemaInvalidError(f"unknown command type {command_type!r}", allowed=list(COMMAND_TYPES))

    @classmethod
    def create(
        cls,
        *,
        command_id: str,
        run_id: str,
        tenant_id: str,
        session_id: str | None,
        seq: int,
        command_type: str,
        payload: dict[str, Any],
        idempotency_key: str | None,
        payload_hash: str,
        now: datetime,
    ) -> Command:
        cls.check_type(command_type)
        return cls._create(
            cls.Created,
            id=command_id,
            timestamp=now,
            run_id=run_id,
            tenant_id=tenant_id,
            session_id=session_id,
            seq=seq,
            type=command_type,
            payload=payload,
            idempotency_key=idempotency_key,
            payload_hash=payload_hash,
        )

    def __init__(
        self,
        run_id: str,
        tenant_id: str,
        session_id: str | None,
        seq: int,
        type: str,  # noqa: A002 - the event field is named as the wire names it
        payload: dict[str, Any],
        idempotency_key: str | None,
        payload_hash: str,
    ) -> None:
        self.run_id = run_id
        self.tenant_id = tenant_id
        self.session_id = session_id
        self.seq = seq
        self.type = type
        self.payload = payload
        self.idempotency_key = idempotency_key
        self.payload_hash = payload_hash
        self.state = "pending"
        self.acknowledged_at: datetime | None = None
        self.terminal_status: str | None = None
        self.failure_kind: str | None = None
        self.failure_message: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def is_turn(self) -> bool:
        return self.type == "turn"

    class Acknowledged(Aggregate.Event):
        def apply(self, command: Command) -> None:
            command.state = "acknowledged"
            command.acknowledged_at = self.timestamp

    def acknowledge(self, now: datetime) -> bool:
        """Acknowledge a pending command; False when already acknowledged or terminal."""
        if self.is_terminal or self.state == "acknowledged":
            return False
        self._trigger(self.Acknowledged, now)
        return True

    class Finished(Aggregate.Event):
        state: str
        terminal_status: str
        failure_kind: str | None
        failure_message: str | None
        thread_id: str | None
        turn_id: str | None

        def apply(self, command: Command) -> None:
            command.state = self.state
            command.terminal_status = self.terminal_status
            command.failure_kind = self.failure_kind
            command.failure_message = self.failure_message

    def finish(self, outcome: Outcome, now: datetime) -> bool:
        """Finish the command; False when already terminal."""
        if self.is_terminal:
            return False
        state = _STATE_OF_TERMINAL[outcome.terminal_status]
        self._trigger(self.Finished, now, state=state, **outcome.fields())
        return True

    class Cancelled(Aggregate.Event):
        reason: str

        def apply(self, command: Command) -> None:
            command.state = "cancelled"
            command.terminal_status = "cancelled"
            command.failure_kind = "cancelled"
            command.failure_message = self.reason

    def cancel(self, reason: str, now: datetime) -> bool:
        """Cancel the command; False when already terminal."""
        if self.is_terminal:
            return False
        self._trigger(self.Cancelled, now, reason=reason)
        return True
