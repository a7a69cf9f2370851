"""The wire shape of aggregates: plain dicts with the contract's camelCase fields."""

from __future__ import annotations

from typing import Any

from domain.command import Command
from domain.run import Run
from domain.runner import Runner
from domain.timestamps import iso


def run_record(run: Run, position: int) -> dict[str, Any]:
    return {
        "id": run.id,
        "tenantId": run.tenant_id,
        "projectId": run.project_id,
        "backendProfile": run.backend_profile,
        "sessionRef": run.session_ref,
        "resourceBundleRef": run.resource_bundle_ref,
        "status": run.status,
        "terminalStatus": run.terminal_status,
        "failureKind": run.failure_kind,
        "failureMessage": run.failure_message,
        "claimedBy": run.claimed_by,
        "claimEpoch": run.claim_epoch,
        "leaseExpiresAt": iso(run.lease_expires_at),
        "createdAt": iso(run.created_at),
        "updatedAt": iso(run.updated_at),
        "position": position,
    }


def run_event_record(event: Any, position: int) -> dict[str, Any]:
    """A `Run.EventAppended` as the contract's RunEvent."""
    return {
        "runId": event.originator_id,
        "seq": event.seq,
        "type": event.type,
        "payload": event.payload,
        "createdAt": iso(event.timestamp),
        "position": position,
    }


def command_record(command: Command, position: int) -> dict[str, Any]:
    return {
        "id": command.id,
        "runId": command.run_id,
        "seq": command.seq,
        "type": command.type,
        "payload": command.payload,
        "state": command.state,
        "idempotencyKey": command.idempotency_key,
        "payloadHash": command.payload_hash,
        "createdAt": iso(command.created_at),
        "updatedAt": iso(command.updated_at),
        "acknowledgedAt": iso(command.acknowledged_at),
        "position": position,
    }


def runner_record(runner: Runner, position: int) -> dict[str, Any]:
    return {
        "id": runner.runner_id,
        "labels": runner.labels,
        "registeredAt": iso(runner.created_at),
        "heartbeatAt": iso(runner.updated_at),
        "position": position,
    }


def runner_job_record(job: dict[str, Any], position: int) -> dict[str, Any]:
    return {
        **job,
        "createdAt": iso(job["createdAt"]),
        "updatedAt": iso(job["updatedAt"]),
        "position": position,
    }
