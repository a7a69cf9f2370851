"""Runner use cases: registration, and the jobs runners launch for commands."""

from __future__ import annotations

from typing import Any

from application import access
from application.access import Principal
from application.base import UseCases
from application.errors import NotFoundError
from application.records import runner_job_record, runner_record
from application.retry import retry_on_conflict
from domain.hashing import payload_hash
from domain.redaction import redact
from domain.run import Run
from domain.runner import Runner, runner_aggregate_id


class RunnerUseCases(UseCases):
    def register(
        self, principal: Principal, runner_id: str | None, labels: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Register a runner; the same id again re-registers it with the new labels."""
        principal.require(access.RUNNER_REGISTER)
        labels = redact(labels)

        def attempt() -> tuple[dict[str, Any], bool]:
            now = self.clock()
            existing = self.store.get(runner_aggregate_id(runner_id)) if runner_id else None
            if isinstance(existing, Runner):
                existing.reregister(labels, now)
                return runner_record(existing, self.store.save(existing)[-1]), False
            runner = Runner.register(runner_id, labels, now)
            return runner_record(runner, self.store.save(runner)[-1]), True

        return retry_on_conflict(attempt)

    def record_job(
        self, principal: Principal, run_id: str, job: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Record a runner job of a command; idempotent on `idempotencyKey`."""
        principal.require(access.RUNNER_JOB_WRITE)
        job = redact(job)
        key = job.get("idempotencyKey")
        digest = payload_hash({k: v for k, v in job.items() if k != "idempotencyKey"})

        def attempt() -> tuple[dict[str, Any], bool]:
            run = self.load(Run, run_id, principal, "run")
            existing = run.runner_job_for_key(key, digest)
            if existing is not None:
                return runner_job_record(existing, self.store.position_of(run.id)), False
            if job["commandId"] not in run.command_ids:
                raise NotFoundError(f"command {job['commandId']} of run {run_id} was not found")
            fields = {
                "commandId": job["commandId"],
                "idempotencyKey": key,
                "payloadHash": digest,
                "attemptId": job["attemptId"],
                "runnerId": job["runnerId"],
                "namespace": job["namespace"],
                "jobName": job["jobName"],
                "image": job["image"],
                "sourceCommit": job["sourceCommit"],
                "serviceAccountName": job.get("serviceAccountName"),
                "result": job.get("result") or {},
            }
            recorded = run.record_runner_job(fields, self.clock())
            return runner_job_record(recorded, self.store.save(run)[-1]), True

        return retry_on_conflict(attempt)

    def jobs(self, principal: Principal, run_id: str, command_id: str | None) -> list[dict[str, Any]]:
        principal.require(access.READ)
        run = self.load(Run, run_id, principal, "run")
        position = self.store.position_of(run.id)
        return [
            runner_job_record(job, position)
            for job in run.runner_jobs
            if command_id is None or job["commandId"] == command_id
        ]
