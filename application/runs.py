"""Run use cases: create, read, claim under a lease, heartbeat, finish, cancel."""

from __future__ import annotations

from typing import Any

from application import access
from application.access import Principal
from application.base import UseCases
from application.records import run_record
from application.retry import retry_on_conflict
from domain.command import Command
from domain.outcome import Outcome
from domain.redaction import redact
from domain.run import Run
from domain.session import Session, session_aggregate_id


class RunUseCases(UseCases):
    def create(
        self,
        principal: Principal,
        *,
        tenant_id: str,
        project_id: str,
        backend_profile: str,
        session_ref: dict[str, Any] | None,
        resource_bundle_ref: dict[str, Any] | None,
    ) -> dict[str, Any]:
        principal.require(access.RUN_CREATE)
        principal.require_tenant_write(tenant_id)
        session_ref = redact(session_ref) if session_ref else None
        resource_bundle_ref = redact(resource_bundle_ref) if resource_bundle_ref else None

        def attempt() -> dict[str, Any]:
            now = self.clock()
            ref = session_ref
            existing = self.store.get(session_aggregate_id(ref["sessionId"])) if ref else None
            if isinstance(existing, Session) and ref is not None:
                existing.check_boundary(tenant_id, project_id, backend_profile)
                ref = _resolve_ref(ref, existing)
            run = Run.create(
                tenant_id=tenant_id,
                project_id=project_id,
                backend_profile=backend_profile,
                session_ref=ref,
                resource_bundle_ref=resource_bundle_ref,
                now=now,
            )
            if ref is not None and existing is None:
                # Two runs may create one new session at once: one save wins, the other retries.
                return run_record(run, max(self.store.save(_new_session(ref, run, now), run)))
            return run_record(run, max(self.store.save(run)))

        return retry_on_conflict(attempt)

    def get(self, principal: Principal, run_id: str) -> dict[str, Any]:
        principal.require(access.READ)
        run, position, _ = self.read(Run, run_id, principal, "run")
        return run_record(run, position)

    def claim(self, principal: Principal, run_id: str, runner_id: str, lease_ms: int) -> dict[str, Any]:
        principal.require(access.RUN_OPERATE)

        def attempt() -> dict[str, Any]:
            run = self.load(Run, run_id, principal, "run")
            run.claim(runner_id, lease_ms, self.clock())
            return run_record(run, self.store.save(run)[-1])

        # A claim is a race: whoever saved first won it. One that lost its compare-and-set to an
        # append or a heartbeat is decided again on the new state, where another runner's claim
        # is a lease conflict.
        with self.store.writing(run_id):
            return retry_on_conflict(attempt)

    def heartbeat(
        self, principal: Principal, run_id: str, runner_id: str, claim_epoch: int, lease_ms: int
    ) -> dict[str, Any]:
        principal.require(access.RUN_OPERATE)

        def attempt() -> dict[str, Any]:
            run = self.load(Run, run_id, principal, "run")
            run.heartbeat(runner_id, claim_epoch, lease_ms, self.clock())
            return self._saved(run)

        return retry_on_conflict(attempt)

    def finish(
        self,
        principal: Principal,
        run_id: str,
        outcome: Outcome,
        claim_epoch: int | None = None,
    ) -> dict[str, Any]:
        principal.require(access.RUN_OPERATE)

        def attempt() -> dict[str, Any]:
            now = self.clock()
            run = self.load(Run, run_id, principal, "run")
            if run.is_terminal:
                return self._saved(run)
            run.check_fence(None, claim_epoch)
            run.finish(outcome, now)
            session = self._session_of(run)
            if session is not None:
                session.bump_version("run-finished", run.id, None, now)
                if outcome.thread_id:
                    session.update_thread(outcome.thread_id, outcome.turn_id, run.id, now)
            return self._saved(run, session)

        return retry_on_conflict(attempt)

    def cancel(self, principal: Principal, run_id: str, reason: str | None) -> dict[str, Any]:
        principal.require(access.RUN_CANCEL)
        reason = reason or "cancel requested"

        def attempt() -> dict[str, Any]:
            now = self.clock()
            run = self.load(Run, run_id, principal, "run")
            if run.is_terminal:
                return self._saved(run)
            commands = [self.store.get(command_id) for command_id in run.command_ids]
            open_commands = [c for c in commands if isinstance(c, Command) and not c.is_terminal]
            for command in open_commands:
                command.cancel(reason, now)
            run.cancel(reason, now)
            session = self._session_of(run)
            if session is not None:
                session.bump_version("run-finished", run.id, None, now)
            return self._saved(run, *open_commands, session)

        return retry_on_conflict(attempt)

    def _session_of(self, run: Run) -> Session | None:
        if run.session_id is None:
            return None
        session = self.store.get(session_aggregate_id(run.session_id))
        return session if isinstance(session, Session) else None

    def _saved(self, run: Run, *others: Any) -> dict[str, Any]:
        """Save the run with whatever else changed; the record carries the last position."""
        pending = [a for a in (run, *others) if a is not None]
        positions = self.store.save(*pending)
        position = max(positions) if positions else self.store.position_of(run.id)
        return run_record(run, position)


def _resolve_ref(ref: dict[str, Any], session: Session) -> dict[str, Any]:
    """A run naming an existing session inherits the session's conversation and thread."""
    resolved = dict(ref)
    if not resolved.get("conversationId") and session.conversation_id:
        resolved["conversationId"] = session.conversation_id
    if not resolved.get("threadId") and session.thread_id:
        resolved["threadId"] = session.thread_id
    return resolved


def _new_session(ref: dict[str, Any], run: Run, now: Any) -> Session:
    return Session.create(
        session_id=ref["sessionId"],
        tenant_id=run.tenant_id,
        project_id=run.project_id,
        backend_profile=run.backend_profile,
        conversation_id=ref.get("conversationId"),
        thread_id=ref.get("threadId"),
        metadata=ref.get("metadata") or {},
        expires_at=ref.get("expiresAt"),
        run_id=run.id,
        now=now,
    )
