"""Routes of runs, run events, commands, runners, runner jobs and a run's backend."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import Any

from interfaces.client.core import HttpCore
from interfaces.client.types_runs import (
    Command,
    CommandType,
    JsonObject,
    NewRunEvent,
    Page,
    Run,
    RunEvent,
    RunEventBatch,
    Runner,
    RunnerJob,
    RunnerJobList,
    SessionRef,
    TerminalStatus,
)
from interfaces.client.types_work import BackendChange, BackendProfile, RunBackend


def body(**fields: Any) -> dict[str, Any]:
    """A request body from keyword fields (already camelCase), leaving out the unset ones."""
    return {key: value for key, value in fields.items() if value is not None}


def outcome(
    terminal_status: str,
    failure_kind: str | None,
    failure_message: str | None,
    thread_id: str | None,
    turn_id: str | None,
) -> dict[str, Any]:
    return body(
        terminalStatus=terminal_status,
        failureKind=failure_kind,
        failureMessage=failure_message,
        threadId=thread_id,
        turnId=turn_id,
    )


class Runs:
    """`/runs`: create, read, claim, heartbeat, finish, cancel, and the run's event log."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def create(
        self,
        tenant_id: str,
        project_id: str,
        backend_profile: str,
        *,
        session_ref: SessionRef | None = None,
        resource_bundle_ref: JsonObject | None = None,
    ) -> Run:
        payload = body(
            tenantId=tenant_id,
            projectId=project_id,
            backendProfile=backend_profile,
            sessionRef=session_ref,
            resourceBundleRef=resource_bundle_ref,
        )
        result: Run = self.core.request("POST", "/runs", json=payload)
        return result

    def get(self, run_id: str) -> Run:
        result: Run = self.core.request("GET", f"/runs/{run_id}")
        return result

    def claim(self, run_id: str, runner_id: str, lease_ms: int) -> Run:
        result: Run = self.core.request(
            "POST", f"/runs/{run_id}/claim", json={"runnerId": runner_id, "leaseMs": lease_ms}
        )
        return result

    def heartbeat(self, run_id: str, runner_id: str, claim_epoch: int, lease_ms: int) -> Run:
        payload = {"runnerId": runner_id, "claimEpoch": claim_epoch, "leaseMs": lease_ms}
        result: Run = self.core.request("POST", f"/runs/{run_id}/heartbeat", json=payload)
        return result

    def finish(
        self,
        run_id: str,
        terminal_status: TerminalStatus,
        *,
        failure_kind: str | None = None,
        failure_message: str | None = None,
        thread_id: str | None = None,
        turn_id: str | None = None,
        claim_epoch: int | None = None,
    ) -> Run:
        payload = outcome(terminal_status, failure_kind, failure_message, thread_id, turn_id)
        payload.update(body(claimEpoch=claim_epoch))
        result: Run = self.core.request("POST", f"/runs/{run_id}/finish", json=payload)
        return result

    def cancel(self, run_id: str, reason: str | None = None) -> Run:
        result: Run = self.core.request("POST", f"/runs/{run_id}/cancel", json=body(reason=reason))
        return result

    def append_event(
        self,
        run_id: str,
        type: str,
        payload: JsonObject,
        *,
        runner_id: str | None = None,
        claim_epoch: int | None = None,
    ) -> RunEvent:
        event = body(type=type, payload=payload, runnerId=runner_id, claimEpoch=claim_epoch)
        result: RunEvent = self.core.request("POST", f"/runs/{run_id}/events", json=event)
        return result

    def append_events(self, run_id: str, events: Sequence[NewRunEvent]) -> RunEventBatch:
        result: RunEventBatch = self.core.request(
            "POST", f"/runs/{run_id}/events:batch", json={"events": list(events)}
        )
        return result

    def events(
        self, run_id: str, *, after_seq: int = 0, limit: int | None = None, cursor: str | None = None
    ) -> Page[RunEvent]:
        params = {"afterSeq": after_seq, "limit": limit, "cursor": cursor}
        result: Page[RunEvent] = self.core.request("GET", f"/runs/{run_id}/events", params=params)
        return result

    def iter_events(self, run_id: str, *, after_seq: int = 0, limit: int = 500) -> Iterator[RunEvent]:
        """Every event of the run after `after_seq`, following the pages to the end."""
        cursor: str | None = None
        while True:
            page = self.events(run_id, after_seq=after_seq, limit=limit, cursor=cursor)
            yield from page["items"]
            cursor = page["nextCursor"]
            if not cursor:
                return


class Commands:
    """Commands of a run: create, list, read, acknowledge, finish, cancel."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def create(
        self, run_id: str, type: CommandType, payload: JsonObject, *, idempotency_key: str | None = None
    ) -> Command:
        command = body(type=type, payload=payload, idempotencyKey=idempotency_key)
        result: Command = self.core.request("POST", f"/runs/{run_id}/commands", json=command)
        return result

    def list(
        self, run_id: str, *, after_seq: int = 0, limit: int | None = None, cursor: str | None = None
    ) -> Page[Command]:
        params = {"afterSeq": after_seq, "limit": limit, "cursor": cursor}
        result: Page[Command] = self.core.request("GET", f"/runs/{run_id}/commands", params=params)
        return result

    def get(self, command_id: str) -> Command:
        result: Command = self.core.request("GET", f"/commands/{command_id}")
        return result

    def ack(self, command_id: str) -> Command:
        result: Command = self.core.request("POST", f"/commands/{command_id}/ack", json={})
        return result

    def finish(
        self,
        command_id: str,
        terminal_status: TerminalStatus,
        *,
        failure_kind: str | None = None,
        failure_message: str | None = None,
        thread_id: str | None = None,
        turn_id: str | None = None,
    ) -> Command:
        payload = outcome(terminal_status, failure_kind, failure_message, thread_id, turn_id)
        result: Command = self.core.request("POST", f"/commands/{command_id}/finish", json=payload)
        return result

    def cancel(self, command_id: str, reason: str | None = None) -> Command:
        result: Command = self.core.request(
            "POST", f"/commands/{command_id}/cancel", json=body(reason=reason)
        )
        return result


class Runners:
    """Runner registration and the runner jobs recorded against a run's commands."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def register(self, runner_id: str | None = None, labels: JsonObject | None = None) -> Runner:
        result: Runner = self.core.request("POST", "/runners", json=body(id=runner_id, labels=labels))
        return result

    def record_job(
        self,
        run_id: str,
        *,
        command_id: str,
        attempt_id: str,
        runner_id: str,
        namespace: str,
        job_name: str,
        image: str,
        source_commit: str,
        idempotency_key: str | None = None,
        service_account_name: str | None = None,
        result: JsonObject | None = None,
    ) -> RunnerJob:
        job = body(
            commandId=command_id,
            idempotencyKey=idempotency_key,
            attemptId=attempt_id,
            runnerId=runner_id,
            namespace=namespace,
            jobName=job_name,
            image=image,
            sourceCommit=source_commit,
            serviceAccountName=service_account_name,
            result=result,
        )
        recorded: RunnerJob = self.core.request("POST", f"/runs/{run_id}/runner-jobs", json=job)
        return recorded

    def jobs(self, run_id: str, command_id: str | None = None) -> RunnerJobList:
        result: RunnerJobList = self.core.request(
            "GET", f"/runs/{run_id}/runner-jobs", params={"commandId": command_id}
        )
        return result


class Backends:
    """The backend a run currently uses (the sticky-routing hint), and the backend profiles."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def record(self, run_id: str, backend_id: str, cache_key: str | None = None) -> BackendChange:
        payload = body(backendId=backend_id, cacheKey=cache_key)
        result: BackendChange = self.core.request("POST", f"/runs/{run_id}/backend", json=payload)
        return result

    def get(self, run_id: str) -> RunBackend:
        result: RunBackend = self.core.request("GET", f"/runs/{run_id}/backend")
        return result

    def list(self) -> builtins.list[BackendProfile]:
        result: builtins.list[BackendProfile] = self.core.request("GET", "/backends")
        return result
