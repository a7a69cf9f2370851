"""Wire models of commands: create, acknowledge, finish, cancel, list."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from domain.outcome import Outcome
from interfaces.http.wire import Body, JsonObject, Out, SeqPageQuery

Id = str
TerminalStatus = Literal["completed", "failed", "blocked", "cancelled"]


class FinishCommand(Body):
    terminal_status: TerminalStatus
    failure_kind: str | None = None
    failure_message: str | None = None
    thread_id: str | None = None
    turn_id: str | None = None

    def outcome(self) -> Outcome:
        return Outcome(
            self.terminal_status, self.failure_kind, self.failure_message, self.thread_id, self.turn_id
        )


class CreateCommand(Body):
    type: Literal["turn", "steer", "interrupt"]
    payload: JsonObject
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)


class CommandPageQuery(SeqPageQuery):
    """Commands page like every list (max 100); only run events go up to 500."""

    limit: int = Field(default=50, ge=1, le=100)


class CommandOut(Out):
    id: Id
    run_id: Id
    seq: int
    type: Literal["turn", "steer", "interrupt"]
    payload: JsonObject
    state: Literal["pending", "acknowledged", "completed", "failed", "cancelled"]
    idempotency_key: str | None
    payload_hash: str
    created_at: str
    updated_at: str
    acknowledged_at: str | None
    position: int


class CommandPage(Out):
    items: list[CommandOut]
    count: int
    next_cursor: str | None
