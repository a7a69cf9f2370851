"""The QueueTask aggregate: a task in a lane of a queue, its attempts and its cancellation."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from domain.base import Aggregate
from domain.errors import IdempotencyConflictError, SchemaInvalidError, TerminalStateError
from domain.ids import new_id

QUEUE_TASK_STATES = ("pending", "claimed", "running", "completed", "failed", "blocked", "cancelled")
TERMINAL_QUEUE_TASK_STATES = frozenset({"completed", "failed", "blocked", "cancelled"})


def queue_task_id(tenant_id: str, project_id: str, idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the idempotency key, so that two creates with one key
    collide on the same aggregate and the store keeps exactly one."""
    if idempotency_key is None:
        return new_id("qt")
    digest = hashlib.sha256("\0".join((tenant_id, project_id, idempotency_key)).encode()).hexdigest()
    return f"qt_k{digest[:32]}"


class QueueTask(Aggregate):
    """A queued task: pending → claimed → running → completed | failed | blocked, or cancelled."""

    class Created(Aggregate.Created):
        tenant_id: str
        project_id: str
        queue: str
        lane: str
        priority: int
        payload: dict[str, Any]
        payload_hash: str
        idempotency_key: str | None

    @classmethod
    def create(
        cls,
        *,
        task_id: str,
        tenant_id: str,
        project_id: str,
        queue: str,
        lane: str,
        priority: int,
        payload: dict[str, Any],
        payload_hash: str,
        idempotency_key: str | None,
        now: datetime,
    ) -> QueueTask:
        return cls._create(
            cls.Created,
            id=task_id,
            timestamp=now,
            tenant_id=tenant_id,
            project_id=project_id,
            queue=queue,
            lane=lane,
            priority=priority,
            payload=payload,
            payload_hash=payload_hash,
            idempotency_key=idempotency_key,
        )

    def __init__(
        self,
        tenant_id: str,
        project_id: str,
        queue: str,
        lane: str,
        priority: int,
        payload: dict[str, Any],
        payload_hash: str,
        idempotency_key: str | None,
    ) -> None:
        self.tenant_id = tenant_id
        self.project_id = project_id
        self.queue = queue
        self.lane = lane
        self.priority = priority
        self.payload = payload
        self.payload_hash = payload_hash
        self.idempotency_key = idempotency_key
        self.state = "pending"
        self.latest_attempt: dict[str, Any] | None = None
        self.session_path: str | None = None
        self.attempts = 0
        self.cancelled_at: datetime | None = None
        self.cancel_reason: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_QUEUE_TASK_STATES

    def check_same_request(self, queue: str, lane: str, priority: int, payload_hash: str) -> None:
        """A repeat of the create that made this task must ask for the same task."""
        if (queue, lane, priority, payload_hash) != (self.queue, self.lane, self.priority, self.payload_hash):
            raise IdempotencyConflictError(
                f"idempotency key {self.idempotency_key!r} was used for another queue task",
                taskId=self.id,
            )

    # -- attempts ---------------------------------------------------------------------

    class AttemptRecorded(Aggregate.Event):
        state: str
        latest_attempt: dict[str, Any]
        session_path: str | None

        def apply(self, task: QueueTask) -> None:
            task.state = self.state
            task.latest_attempt = self.latest_attempt
            if self.session_path is not None:
                task.session_path = self.session_path
            task.attempts += 1
            if self.state == "cancelled":
                task.cancelled_at = self.timestamp

    @staticmethod
    def check_state(state: str) -> None:
        if state not in QUEUE_TASK_STATES:
            raise SchemaInvalidError(f"unknown queue task state {state!r}", allowed=list(QUEUE_TASK_STATES))

    def check_not_terminal(self) -> None:
        if self.is_terminal:
            raise TerminalStateError(
                f"queue task {self.id} is already terminal: {self.state}", state=self.state
            )

    def record_attempt(
        self, state: str, latest_attempt: dict[str, Any], session_path: str | None, now: datetime
    ) -> None:
        """Record what the latest attempt did; a terminal task takes no more attempts."""
        self.check_state(state)
        attempt_id = latest_attempt.get("attemptId")
        if not isinstance(attempt_id, str) or not attempt_id:
            raise SchemaInvalidError("latestAttempt.attemptId must be a non-empty string")
        self.check_not_terminal()
        self._trigger(
            self.AttemptRecorded, now, state=state, latest_attempt=latest_attempt, session_path=session_path
        )

    # -- cancellation -----------------------------------------------------------------

    class Cancelled(Aggregate.Event):
        reason: str

        def apply(self, task: QueueTask) -> None:
            task.state = "cancelled"
            task.cancelled_at = self.timestamp
            task.cancel_reason = self.reason

    def cancel(self, reason: str, now: datetime) -> bool:
        """Cancel the task; False (nothing recorded) when it is already terminal."""
        if self.is_terminal:
            return False
        self._trigger(self.Cancelled, now, reason=reason)
        return True
