"""The InferenceTask aggregate: one LLM call, queued for a pool, claimed by one worker at a time."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from domain.base import Aggregate
from domain.errors import AgentRunError, IdempotencyConflictError, TerminalStateError
from domain.ids import new_id

TERMINAL = frozenset({"completed", "error", "cancelled"})
HELD = frozenset({"claimed", "running"})
STATUSES = ("pending", "claimed", "running", "completed", "error", "cancelled")


class StaleAttemptError(AgentRunError):
    """A write from a worker that does not (or no longer) hold the task."""

    kind = "stale-attempt"


class NotClaimableError(AgentRunError):
    """The task is not pending: another worker claimed it, or it ended."""

    kind = "conflict"


def inference_task_id(owner_id: str, idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the caller's idempotency key, so that two enqueues with one
    key collide on the same aggregate and the store keeps exactly one."""
    if idempotency_key is None:
        return new_id("inf")
    digest = hashlib.sha256("\0".join((owner_id, idempotency_key)).encode()).hexdigest()
    return f"inf_k{digest[:32]}"


def expired_message(after_seconds: int) -> str:
    return f"expired in pending after {after_seconds}s"


class InferenceTask(Aggregate):
    """A task's routing (fixed at enqueue), its holder, and its outcome."""

    class Created(Aggregate.Created):
        pool_name: str
        llm_name: str
        model: str
        tier: str | None
        request_body: Any
        streaming: bool
        owner_id: str
        agent_id: str | None

    @classmethod
    def enqueue(
        cls,
        *,
        pool_name: str,
        llm_name: str,
        model: str,
        tier: str | None,
        request_body: Any,
        streaming: bool,
        owner_id: str,
        agent_id: str | None,
        now: datetime,
        task_id: str | None = None,
    ) -> InferenceTask:
        return cls._create(
            cls.Created,
            id=task_id or new_id("inf"),
            timestamp=now,
            pool_name=pool_name,
            llm_name=llm_name,
            model=model,
            tier=tier,
            request_body=request_body,
            streaming=streaming,
            owner_id=owner_id,
            agent_id=agent_id,
        )

    def __init__(
        self,
        pool_name: str,
        llm_name: str,
        model: str,
        tier: str | None,
        request_body: Any,
        streaming: bool,
        owner_id: str,
        agent_id: str | None,
    ) -> None:
        self.pool_name = pool_name
        self.llm_name = llm_name
        self.model = model
        self.tier = tier
        self.request_body = request_body
        self.streaming = streaming
        self.owner_id = owner_id
        self.agent_id = agent_id
        self.status = "pending"
        self.claimed_by: str | None = None
        self.channel_id: str | None = None
        self.claimed_at: datetime | None = None
        self.stream_started_at: datetime | None = None
        self.completed_at: datetime | None = None
        self.response_body: Any = None
        self.error_message: str | None = None
        self.attempts = 0

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def check_same_request(self, request_body: Any, streaming: bool) -> None:
        """A retry under the same idempotency key must carry the same request."""
        if request_body != self.request_body or streaming != self.streaming:
            raise IdempotencyConflictError(
                f"the idempotency key of inference task {self.id} was used with another request",
                taskId=self.id,
            )

    def check_holder(self, worker_id: str) -> None:
        """Only the worker holding the task may write to it."""
        if self.status not in HELD or self.claimed_by != worker_id:
            raise StaleAttemptError(
                f"worker {worker_id} does not hold inference task {self.id}",
                status=self.status,
                claimedBy=self.claimed_by,
            )

    # -- claims -----------------------------------------------------------------------

    class Claimed(Aggregate.Event):
        worker_id: str
        channel_id: str
        attempt: int

        def apply(self, task: InferenceTask) -> None:
            task.status = "claimed"
            task.claimed_by = self.worker_id
            task.channel_id = self.channel_id
            task.claimed_at = self.timestamp
            task.attempts = self.attempt

    def claim(self, worker_id: str, channel_id: str, now: datetime) -> None:
        if self.status != "pending":
            raise NotClaimableError(f"inference task {self.id} is {self.status}, not pending")
        self._trigger(
            self.Claimed, now, worker_id=worker_id, channel_id=channel_id, attempt=self.attempts + 1
        )

    class ChunkStarted(Aggregate.Event):
        worker_id: str

        def apply(self, task: InferenceTask) -> None:
            task.status = "running"
            task.stream_started_at = self.timestamp

    def start_streaming(self, worker_id: str, now: datetime) -> bool:
        """Record the first chunk (claimed → running); False when it is already running."""
        if self.is_terminal:
            raise TerminalStateError(f"inference task {self.id} is already {self.status}")
        self.check_holder(worker_id)
        if self.status == "running":
            return False
        self._trigger(self.ChunkStarted, now, worker_id=worker_id)
        return True

    class RevertedOnDisconnect(Aggregate.Event):
        worker_id: str
        channel_id: str | None
        reason: str

        def apply(self, task: InferenceTask) -> None:
            task.status = "pending"
            task.claimed_by = None
            task.channel_id = None
            task.claimed_at = None
            task.stream_started_at = None

    def revert(self, worker_id: str, channel_id: str | None, reason: str, now: datetime) -> bool:
        """Put a task the worker held back in the queue; False when it no longer holds it.

        With a `channel_id`, only a task claimed over that connection goes back, so a worker that
        reconnected keeps what its new connection claimed.
        """
        if self.status not in HELD or self.claimed_by != worker_id:
            return False
        if channel_id is not None and self.channel_id != channel_id:
            return False
        self._trigger(
            self.RevertedOnDisconnect, now, worker_id=worker_id, channel_id=channel_id, reason=reason
        )
        return True

    # -- terminal transitions (each idempotent: a second one changes nothing) -----------

    class Completed(Aggregate.Event):
        worker_id: str
        response_body: Any

        def apply(self, task: InferenceTask) -> None:
            task.status = "completed"
            task.response_body = self.response_body
            task.completed_at = self.timestamp

    def complete(self, worker_id: str, response_body: Any, now: datetime) -> bool:
        if self.is_terminal:
            return False
        self.check_holder(worker_id)
        self._trigger(self.Completed, now, worker_id=worker_id, response_body=response_body)
        return True

    class Failed(Aggregate.Event):
        worker_id: str
        message: str
        response_body: Any

        def apply(self, task: InferenceTask) -> None:
            task.status = "error"
            task.error_message = self.message
            task.response_body = self.response_body
            task.completed_at = self.timestamp

    def fail(self, worker_id: str, message: str, now: datetime, response_body: Any = None) -> bool:
        if self.is_terminal:
            return False
        self.check_holder(worker_id)
        self._trigger(self.Failed, now, worker_id=worker_id, message=message, response_body=response_body)
        return True

    class Cancelled(Aggregate.Event):
        by: str

        def apply(self, task: InferenceTask) -> None:
            task.status = "cancelled"
            task.completed_at = self.timestamp

    def cancel(self, by: str, now: datetime) -> bool:
        if self.is_terminal:
            return False
        self._trigger(self.Cancelled, now, by=by)
        return True

    class ExpiredInPending(Aggregate.Event):
        after_seconds: int

        def apply(self, task: InferenceTask) -> None:
            task.status = "error"
            task.error_message = expired_message(self.after_seconds)
            task.completed_at = self.timestamp

    def expire(self, after_seconds: int, now: datetime) -> bool:
        """Give up on a task that waited too long for a worker; only a pending task expires."""
        if self.status != "pending":
            return False
        self._trigger(self.ExpiredInPending, now, after_seconds=after_seconds)
        return True


RETENTION_ID = "retention:inference"


class InferenceRetention(Aggregate):
    """The sweeps that dropped old rows from the inference views, so a rebuild drops the same rows."""

    class Started(Aggregate.Created):
        pass

    @classmethod
    def start(cls, now: datetime) -> InferenceRetention:
        return cls._create(cls.Started, id=RETENTION_ID, timestamp=now)

    class Swept(Aggregate.Event):
        tasks_before_us: int
        llms_before_us: int

    def sweep(self, tasks_before_us: int, llms_before_us: int, now: datetime) -> None:
        self._trigger(self.Swept, now, tasks_before_us=tasks_before_us, llms_before_us=llms_before_us)
