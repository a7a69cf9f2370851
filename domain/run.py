"""The Run aggregate: a run of an agent against a backend, claimed by runners under a lease."""

from __future__ import annotations

import copy
from bisect import bisect_right
from datetime import datetime, timedelta
from typing import Any

from domain.base import Aggregate
from domain.errors import (
    AgentRunError,
    IdempotencyConflictError,
    SchemaInvalidError,
    TerminalStateError,
)
from domain.ids import new_id
from domain.outcome import TERMINAL_STATUSES, Outcome

RUN_EVENT_TYPES = frozenset(
    {
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
    }
)


class LeaseConflictError(AgentRunError):
    """Another runner holds an unexpired lease on the run."""

    kind = "runner-lease-conflict"


class StaleAttemptError(AgentRunError):
    """A write from an attempt that a newer claim has fenced out."""

    kind = "stale-attempt"


class Run(Aggregate):
    """A run, its lease, its per-run event sequence and the commands sent to it."""

    # Every so many versions the store keeps a snapshot, so a load replays at most that many.
    snapshot_interval = 200

    class Created(Aggregate.Created):
        tenant_id: str
        project_id: str
        backend_profile: str
        session_ref: dict[str, Any] | None
        resource_bundle_ref: dict[str, Any] | None

    @classmethod
    def create(
        cls,
        *,
        tenant_id: str,
        project_id: str,
        backend_profile: str,
        session_ref: dict[str, Any] | None,
        resource_bundle_ref: dict[str, Any] | None,
        now: datetime,
    ) -> Run:
        return cls._create(
            cls.Created,
            id=new_id("run"),
            timestamp=now,
            tenant_id=tenant_id,
            project_id=project_id,
            backend_profile=backend_profile,
            session_ref=session_ref,
            resource_bundle_ref=resource_bundle_ref,
        )

    def __init__(
        self,
        tenant_id: str,
        project_id: str,
        backend_profile: str,
        session_ref: dict[str, Any] | None,
        resource_bundle_ref: dict[str, Any] | None,
    ) -> None:
        self.tenant_id = tenant_id
        self.project_id = project_id
        self.backend_profile = backend_profile
        self.session_ref = session_ref
        self.resource_bundle_ref = resource_bundle_ref
        self.status = "pending"
        self.terminal_status: str | None = None
        self.failure_kind: str | None = None
        self.failure_message: str | None = None
        self.claimed_by: str | None = None
        self.claim_epoch = 0
        self.lease_expires_at: datetime | None = None
        # The aggregate versions of the run events, as spans of consecutive versions: [first seq,
        # its version]. A batch of appends is one span, so the state does not grow per event.
        self.event_spans: list[list[int]] = []
        self.last_seq = 0
        self.command_ids: list[str] = []
        self.command_keys: dict[str, tuple[str, str, str]] = {}
        self.runner_jobs: list[dict[str, Any]] = []
        self.runner_job_keys: dict[str, int] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> Run:
        """A copy for the repository cache, O(events) memcpy rather than a recursive deep copy.

        Stored values (refs, jobs, keys) are replaced, never mutated, by the events, so the
        containers are copied and their items shared.
        """
        clone = copy.copy(self)
        clone.__dict__.update(
            _pending_events=[],
            event_spans=list(self.event_spans),
            command_ids=list(self.command_ids),
            command_keys=dict(self.command_keys),
            runner_jobs=list(self.runner_jobs),
            runner_job_keys=dict(self.runner_job_keys),
        )
        return clone

    @property
    def session_id(self) -> str | None:
        return self.session_ref["sessionId"] if self.session_ref else None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def version_of(self, seq: int) -> int:
        """The aggregate version at which run event `seq` (1..last_seq) was recorded."""
        first_seq, first_version = self.event_spans[bisect_right(self.event_spans, seq, key=_first) - 1]
        return first_version + seq - first_seq

    def check_not_terminal(self) -> None:
        if self.is_terminal:
            raise TerminalStateError(f"run {self.id} is already terminal: {self.status}")

    def check_fence(self, runner_id: str | None, claim_epoch: int | None) -> None:
        """Refuse a write from an attempt older than the current claim."""
        if claim_epoch is None:
            return
        if claim_epoch != self.claim_epoch or (runner_id is not None and runner_id != self.claimed_by):
            raise StaleAttemptError(
                f"claim epoch {claim_epoch} of run {self.id} is stale",
                currentClaimEpoch=self.claim_epoch,
            )

    # -- claims and leases ------------------------------------------------------------

    class Claimed(Aggregate.Event):
        runner_id: str
        claim_epoch: int
        lease_expires_at: datetime

        def apply(self, run: Run) -> None:
            run.status = "claimed"
            run.claimed_by = self.runner_id
            run.claim_epoch = self.claim_epoch
            run.lease_expires_at = self.lease_expires_at

    def check_claimable(self, runner_id: str, now: datetime) -> None:
        self.check_not_terminal()
        lease_live = self.lease_expires_at is not None and self.lease_expires_at > now
        if self.claimed_by and self.claimed_by != runner_id and lease_live:
            raise LeaseConflictError(
                f"run {self.id} is claimed by another runner",
                leaseExpiresAt=self.lease_expires_at.isoformat() if self.lease_expires_at else None,
            )

    def claim(self, runner_id: str, lease_ms: int, now: datetime) -> None:
        self.check_claimable(runner_id, now)
        self._trigger(
            self.Claimed,
            now,
            runner_id=runner_id,
            claim_epoch=self.claim_epoch + 1,
            lease_expires_at=now + timedelta(milliseconds=lease_ms),
        )

    class LeaseExtended(Aggregate.Event):
        runner_id: str
        claim_epoch: int
        lease_expires_at: datetime

        def apply(self, run: Run) -> None:
            run.lease_expires_at = self.lease_expires_at

    def heartbeat(self, runner_id: str, claim_epoch: int, lease_ms: int, now: datetime) -> None:
        if self.is_terminal:
            return
        if runner_id != self.claimed_by:
            raise StaleAttemptError(f"runner {runner_id} does not hold run {self.id}")
        self.check_fence(runner_id, claim_epoch)
        self._trigger(
            self.LeaseExtended,
            now,
            runner_id=runner_id,
            claim_epoch=claim_epoch,
            lease_expires_at=now + timedelta(milliseconds=lease_ms),
        )

    # -- run events -------------------------------------------------------------------

    class EventAppended(Aggregate.Event):
        seq: int
        type: str
        payload: dict[str, Any]

        def apply(self, run: Run) -> None:
            spans = run.event_spans
            if not spans or spans[-1][1] + self.seq - spans[-1][0] != self.originator_version:
                spans.append([self.seq, self.originator_version])
            run.last_seq = self.seq

    @staticmethod
    def check_event_type(event_type: str) -> None:
        if event_type not in RUN_EVENT_TYPES:
            raise SchemaInvalidError(
                f"unknown run event type {event_type!r}", allowed=sorted(RUN_EVENT_TYPES)
            )

    def append_event(self, event_type: str, payload: dict[str, Any], now: datetime) -> int:
        """Append a run event; returns its seq."""
        self.check_event_type(event_type)
        seq = self.last_seq + 1
        self._trigger(self.EventAppended, now, seq=seq, type=event_type, payload=payload)
        return seq

    # -- terminal transitions ---------------------------------------------------------

    class Finished(Aggregate.Event):
        terminal_status: str
        failure_kind: str | None
        failure_message: str | None
        thread_id: str | None
        turn_id: str | None

        def apply(self, run: Run) -> None:
            run.status = self.terminal_status
            run.terminal_status = self.terminal_status
            run.failure_kind = self.failure_kind
            run.failure_message = self.failure_message
            if self.thread_id and run.session_ref is not None:
                run.session_ref = {**run.session_ref, "threadId": self.thread_id}

    def finish(self, outcome: Outcome, now: datetime) -> bool:
        """Finish the run and append its terminal_status event; False if already terminal."""
        if self.is_terminal:
            return False
        self._trigger(self.Finished, now, **outcome.fields())
        self.append_event("terminal_status", outcome.terminal_status_payload(), now)
        return True

    class Cancelled(Aggregate.Event):
        reason: str

        def apply(self, run: Run) -> None:
            run.status = "cancelled"
            run.terminal_status = "cancelled"
            run.failure_kind = "cancelled"
            run.failure_message = self.reason

    def cancel(self, reason: str, now: datetime) -> bool:
        """Cancel the run and append its terminal_status event; False if already terminal."""
        if self.is_terminal:
            return False
        self._trigger(self.Cancelled, now, reason=reason)
        cancelled = Outcome("cancelled", failure_kind="cancelled", failure_message=reason)
        self.append_event("terminal_status", cancelled.terminal_status_payload(), now)
        return True

    # -- commands ---------------------------------------------------------------------

    class CommandAdded(Aggregate.Event):
        command_id: str
        seq: int
        command_type: str
        idempotency_key: str | None
        payload_hash: str

        def apply(self, run: Run) -> None:
            run.command_ids.append(self.command_id)
            if self.idempotency_key is not None:
                run.command_keys[self.idempotency_key] = (
                    self.command_id,
                    self.command_type,
                    self.payload_hash,
                )

    def command_for_key(
        self, idempotency_key: str | None, command_type: str, payload_hash: str
    ) -> str | None:
        """The id of the command already created with this key, if its type and payload match."""
        if idempotency_key is None or idempotency_key not in self.command_keys:
            return None
        command_id, known_type, known_hash = self.command_keys[idempotency_key]
        if (known_type, known_hash) != (command_type, payload_hash):
            raise IdempotencyConflictError(
                "idempotency key reused with a different payload", idempotencyKey=idempotency_key
            )
        return command_id

    def add_command(
        self,
        command_id: str,
        command_type: str,
        idempotency_key: str | None,
        payload_hash: str,
        now: datetime,
    ) -> int:
        """Record a new command of this run; returns its per-run seq."""
        self.check_not_terminal()
        seq = len(self.command_ids) + 1
        self._trigger(
            self.CommandAdded,
            now,
            command_id=command_id,
            seq=seq,
            command_type=command_type,
            idempotency_key=idempotency_key,
            payload_hash=payload_hash,
        )
        return seq

    # -- runner jobs ------------------------------------------------------------------

    class RunnerJobRecorded(Aggregate.Event):
        job: dict[str, Any]

        def apply(self, run: Run) -> None:
            job = {**self.job, "createdAt": self.timestamp, "updatedAt": self.timestamp}
            run.runner_jobs.append(job)
            if job.get("idempotencyKey") is not None:
                run.runner_job_keys[job["idempotencyKey"]] = len(run.runner_jobs) - 1

    def runner_job_for_key(self, idempotency_key: str | None, payload_hash: str) -> dict[str, Any] | None:
        if idempotency_key is None or idempotency_key not in self.runner_job_keys:
            return None
        job = self.runner_jobs[self.runner_job_keys[idempotency_key]]
        if job["payloadHash"] != payload_hash:
            raise IdempotencyConflictError(
                "idempotency key reused with a different payload", idempotencyKey=idempotency_key
            )
        return job

    def record_runner_job(self, job: dict[str, Any], now: datetime) -> dict[str, Any]:
        job = {**job, "id": new_id("rjob"), "runId": self.id}
        self._trigger(self.RunnerJobRecorded, now, job=job)
        return self.runner_jobs[-1]


def _first(span: list[int]) -> int:
    return span[0]
