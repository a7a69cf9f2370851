"""The Session aggregate: a conversation that runs share, and who has read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.base import Aggregate
from domain.errors import AgentRunError, SchemaInvalidError

VERSION_BUMP_REASONS = ("turn-created", "steer-created", "turn-finished", "run-finished")


class TenantPolicyDeniedError(AgentRunError):
    """A session id already belongs to another tenant or project."""

    kind = "tenant-policy-denied"


def session_aggregate_id(session_id: str) -> str:
    """Session ids are chosen by clients, so they live in their own namespace of the log."""
    return f"session:{session_id}"


class Session(Aggregate):
    """A session: created by the first run naming it; its version rises on turns and finishes."""

    class Created(Aggregate.Created):
        session_id: str
        tenant_id: str
        project_id: str
        backend_profile: str
        conversation_id: str | None
        thread_id: str | None
        metadata: dict[str, Any]
        expires_at: str | None
        run_id: str

    @classmethod
    def create(
        cls,
        *,
        session_id: str,
        tenant_id: str,
        project_id: str,
        backend_profile: str,
        conversation_id: str | None,
        thread_id: str | None,
        metadata: dict[str, Any],
        expires_at: str | None,
        run_id: str,
        now: datetime,
    ) -> Session:
        return cls._create(
            cls.Created,
            id=session_aggregate_id(session_id),
            timestamp=now,
            session_id=session_id,
            tenant_id=tenant_id,
            project_id=project_id,
            backend_profile=backend_profile,
            conversation_id=conversation_id,
            thread_id=thread_id,
            metadata=metadata,
            expires_at=expires_at,
            run_id=run_id,
        )

    def __init__(
        self,
        session_id: str,
        tenant_id: str,
        project_id: str,
        backend_profile: str,
        conversation_id: str | None,
        thread_id: str | None,
        metadata: dict[str, Any],
        expires_at: str | None,
        run_id: str,
    ) -> None:
        self.session_id = session_id
        self.tenant_id = tenant_id
        self.project_id = project_id
        self.backend_profile = backend_profile
        self.conversation_id = conversation_id
        self.thread_id = thread_id
        self.metadata = metadata
        self.expires_at = expires_at

    def check_boundary(self, tenant_id: str, project_id: str, backend_profile: str) -> None:
        """A session never crosses a tenant, project or backend profile."""
        if tenant_id != self.tenant_id or project_id != self.project_id:
            raise TenantPolicyDeniedError(
                "sessionRef cannot be reused across a tenant or project boundary",
                sessionId=self.session_id,
            )
        if backend_profile != self.backend_profile:
            raise SchemaInvalidError(
                "sessionRef cannot be reused across a backendProfile boundary",
                sessionId=self.session_id,
                existingBackendProfile=self.backend_profile,
                requestedBackendProfile=backend_profile,
            )

    class VersionBumped(Aggregate.Event):
        reason: str
        run_id: str
        command_id: str | None

    def bump_version(self, reason: str, run_id: str, command_id: str | None, now: datetime) -> None:
        """Record a change that readers should see as new (a turn, a steer, a finish)."""
        if reason not in VERSION_BUMP_REASONS:
            raise ValueError(f"unknown version bump reason {reason!r}")
        self._trigger(self.VersionBumped, now, reason=reason, run_id=run_id, command_id=command_id)

    class ThreadUpdated(Aggregate.Event):
        thread_id: str
        turn_id: str | None
        run_id: str

        def apply(self, session: Session) -> None:
            session.thread_id = self.thread_id
            if self.turn_id:
                session.metadata = {**session.metadata, "lastTurnId": self.turn_id}

    def update_thread(self, thread_id: str, turn_id: str | None, run_id: str, now: datetime) -> None:
        if thread_id == self.thread_id and (not turn_id or self.metadata.get("lastTurnId") == turn_id):
            return
        self._trigger(self.ThreadUpdated, now, thread_id=thread_id, turn_id=turn_id, run_id=run_id)

    class ReadMarked(Aggregate.Event):
        reader_id: str

    def mark_read(self, reader_id: str, now: datetime) -> None:
        self._trigger(self.ReadMarked, now, reader_id=reader_id)
