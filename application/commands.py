"""Command use cases: create (idempotently), read, acknowledge, finish, cancel."""

from __future__ import annotations

from typing import Any

from application import access
from application.access import Principal
from application.base import UseCases
from application.records import command_record
from application.retry import retry_on_conflict
from domain.command import Command
from domain.hashing import payload_hash
from domain.ids import new_id
from domain.outcome import Outcome
from domain.redaction import redact
from domain.run import Run
from domain.session import Session, session_aggregate_id

_BUMP_ON_CREATE = {"turn": "turn-created", "steer": "steer-created"}


class CommandUseCases(UseCases):
    def create(
        self,
        principal: Principal,
        run_id: str,
        *,
        command_type: str,
        payload: dict[str, Any],
        idempotency_key: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """The command and whether it was created now (False: an idempotent replay)."""
        principal.require(access.COMMAND_CREATE)
        Command.check_type(command_type)
        payload = redact(payload)
        digest = payload_hash(payload)

        def attempt() -> tuple[dict[str, Any], bool]:
            now = self.clock()
            run = self.load(Run, run_id, principal, "run")
            existing_id = run.command_for_key(idempotency_key, command_type, digest)
            if existing_id is not None:
                existing = self.load(Command, existing_id, principal, "command")
                return command_record(existing, self.store.position_of(existing_id)), False
            command_id = new_id("cmd")
            seq = run.add_command(command_id, command_type, idempotency_key, digest, now)
            command = Command.create(
                command_id=command_id,
                run_id=run.id,
                tenant_id=run.tenant_id,
                session_id=run.session_id,
                seq=seq,
                command_type=command_type,
                payload=payload,
                idempotency_key=idempotency_key,
                payload_hash=digest,
                now=now,
            )
            session = self._session(run.session_id) if command_type in _BUMP_ON_CREATE else None
            if session is not None:
                session.bump_version(_BUMP_ON_CREATE[command_type], run.id, command_id, now)
            positions = self.store.save(*[a for a in (run, command, session) if a is not None])
            return command_record(command, max(positions)), True

        return retry_on_conflict(attempt)

    def get(self, principal: Principal, command_id: str) -> dict[str, Any]:
        principal.require(access.READ)
        command = self.load(Command, command_id, principal, "command")
        return command_record(command, self.store.position_of(command.id))

    def page(
        self, principal: Principal, run_id: str, after_seq: int, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        principal.require(access.READ)
        run = self.load(Run, run_id, principal, "run")
        after_seq = max(after_seq, 0)
        ids = run.command_ids[after_seq : after_seq + limit]
        items = []
        for command_id in ids:
            command = self.load(Command, command_id, principal, "command")
            items.append(command_record(command, self.store.position_of(command_id)))
        end = after_seq + len(ids)
        return items, (end if end < len(run.command_ids) else None)

    def acknowledge(self, principal: Principal, command_id: str) -> dict[str, Any]:
        principal.require(access.COMMAND_OPERATE)
        return self._transition(principal, command_id, lambda c, now: (c.acknowledge(now), None))

    def finish(
        self,
        principal: Principal,
        command_id: str,
        outcome: Outcome,
    ) -> dict[str, Any]:
        principal.require(access.COMMAND_OPERATE)

        def finish(command: Command, now: Any) -> tuple[bool, Session | None]:
            changed = command.finish(outcome, now)
            session = self._session(command.session_id) if changed else None
            if session is not None:
                if command.is_turn:
                    session.bump_version("turn-finished", command.run_id, command.id, now)
                if outcome.thread_id:
                    session.update_thread(outcome.thread_id, outcome.turn_id, command.run_id, now)
            return changed, session

        return self._transition(principal, command_id, finish)

    def cancel(self, principal: Principal, command_id: str, reason: str | None) -> dict[str, Any]:
        principal.require(access.COMMAND_CANCEL)
        reason = reason or "cancel requested"

        def cancel(command: Command, now: Any) -> tuple[bool, Session | None]:
            changed = command.cancel(reason, now)
            session = self._session(command.session_id) if changed and command.is_turn else None
            if session is not None:
                session.bump_version("turn-finished", command.run_id, command.id, now)
            return changed, session

        return self._transition(principal, command_id, cancel)

    def _transition(self, principal: Principal, command_id: str, change: Any) -> dict[str, Any]:
        """Apply an idempotent transition; an unchanged command is returned as it is."""

        def attempt() -> dict[str, Any]:
            command = self.load(Command, command_id, principal, "command")
            changed, session = change(command, self.clock())
            if not changed:
                return command_record(command, self.store.position_of(command.id))
            positions = self.store.save(*[a for a in (command, session) if a is not None])
            return command_record(command, max(positions))

        return retry_on_conflict(attempt)

    def _session(self, session_id: str | None) -> Session | None:
        if session_id is None:
            return None
        session = self.store.get(session_aggregate_id(session_id))
        return session if isinstance(session, Session) else None
