"""The retention sweep: silent workers go inactive, old pending tasks expire, views drop old rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from application.base import UseCases
from application.inference_tasks import InferenceTaskUseCases
from application.retry import retry_on_conflict
from application.workers import WorkerUseCases
from domain.inference_task import RETENTION_ID, InferenceRetention
from domain.timestamps import iso, micros
from domain.worker import Worker, worker_aggregate_id
from projections import inference_queries, worker_queries

WORKER_TIMEOUT = 90.0
PENDING_TIMEOUT = 3600
TASK_RETENTION = timedelta(days=7)
LLM_RETENTION = timedelta(hours=4)


class SilentWorkers(Protocol):
    def silent_since(self, before_us: int) -> list[tuple[str, int]]: ...


class InferenceSweeper(UseCases):
    def __init__(
        self,
        *,
        heartbeats: SilentWorkers,
        tasks: InferenceTaskUseCases,
        workers: WorkerUseCases,
        worker_timeout: float = WORKER_TIMEOUT,
        pending_timeout: int = PENDING_TIMEOUT,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.heartbeats = heartbeats
        self.tasks = tasks
        self.workers = workers
        self.worker_timeout = worker_timeout
        self.pending_timeout = pending_timeout

    def sweep(self) -> dict[str, int]:
        """One pass; returns how many workers went inactive, tasks expired, sweeps recorded."""
        now = self.clock()
        inactive = reverted = 0
        for worker_id, last_us in self.heartbeats.silent_since(
            micros(now - timedelta(seconds=self.worker_timeout))
        ):
            went, back = self._silence(worker_id, last_us)
            inactive += went
            reverted += back
        expired = 0
        with self.views.read() as cur:
            stale = inference_queries.pending_created_before(
                cur, micros(now - timedelta(seconds=self.pending_timeout))
            )
        for task_id in stale:
            expired += self.tasks.expire(task_id, self.pending_timeout)
        swept = self._retention(now)
        return {"inactive": inactive, "reverted": reverted, "expired": expired, "swept": swept}

    def _silence(self, worker_id: str, last_us: int) -> tuple[int, int]:
        def attempt() -> bool:
            worker = self.store.get(worker_aggregate_id(worker_id))
            if not isinstance(worker, Worker) or not worker.active:
                return False
            last = iso(datetime.fromtimestamp(last_us / 1_000_000, UTC))
            worker.unbind(None, "heartbeat timeout", self.clock())
            worker.go_inactive(last, self.clock())
            self.store.save(worker)
            return True

        if not retry_on_conflict(attempt):
            return 0, 0
        reverted = sum(
            self.tasks.revert(task_id, worker_id, None, "heartbeat timeout")
            for task_id in self.tasks.held_by(worker_id)
        )
        return 1, reverted

    def _retention(self, now: Any) -> int:
        tasks_before = micros(now - TASK_RETENTION)
        llms_before = micros(now - LLM_RETENTION)
        with self.views.read() as cur:
            old_tasks = inference_queries.any_terminal_before(cur, tasks_before)
            old_llms = worker_queries.any_inactive_before(cur, llms_before)
        if not old_tasks and not old_llms:
            return 0

        def attempt() -> None:
            retention = self.store.get(RETENTION_ID)
            if not isinstance(retention, InferenceRetention):
                retention = InferenceRetention.start(now)
            retention.sweep(tasks_before, llms_before, now)
            self.store.save(retention)

        retry_on_conflict(attempt)
        return 1
