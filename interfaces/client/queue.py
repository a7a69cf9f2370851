"""Routes of queue tasks: create, list, read, record attempts, cancel, mark read, stats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from interfaces.client.core import HttpCore
from interfaces.client.runs import body
from interfaces.client.types_runs import JsonObject, Page
from interfaces.client.types_work import QueueCommander, QueueReadCursor, QueueStats, QueueTask, TaskState


class Queue:
    """`/queue`: durable tasks with lanes and priorities, and the views over them."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def create(
        self,
        tenant_id: str,
        project_id: str,
        queue: str,
        lane: str,
        priority: int,
        payload: JsonObject,
        *,
        idempotency_key: str | None = None,
    ) -> QueueTask:
        task = body(
            tenantId=tenant_id,
            projectId=project_id,
            queue=queue,
            lane=lane,
            priority=priority,
            payload=payload,
            idempotencyKey=idempotency_key,
        )
        result: QueueTask = self.core.request("POST", "/queue/tasks", json=task)
        return result

    def list(
        self,
        *,
        queue: str | None = None,
        state: TaskState | None = None,
        updated_after: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> Page[QueueTask]:
        params = {
            "queue": queue,
            "state": state,
            "updatedAfter": updated_after,
            "limit": limit,
            "cursor": cursor,
            "minPosition": min_position,
        }
        result: Page[QueueTask] = self.core.request("GET", "/queue/tasks", params=params)
        return result

    def iter(
        self, *, queue: str | None = None, state: TaskState | None = None, updated_after: int | None = None
    ) -> Iterator[QueueTask]:
        """Every matching task, following `nextCursor` to the end."""
        cursor: str | None = None
        while True:
            page = self.list(queue=queue, state=state, updated_after=updated_after, limit=100, cursor=cursor)
            yield from page["items"]
            cursor = page["nextCursor"]
            if not cursor:
                return

    def get(self, task_id: str) -> QueueTask:
        result: QueueTask = self.core.request("GET", f"/queue/tasks/{task_id}")
        return result

    def record_attempt(
        self,
        task_id: str,
        state: TaskState,
        latest_attempt: dict[str, Any],
        *,
        session_path: str | None = None,
    ) -> QueueTask:
        attempt = body(state=state, latestAttempt=latest_attempt, sessionPath=session_path)
        result: QueueTask = self.core.request("POST", f"/queue/tasks/{task_id}/attempts", json=attempt)
        return result

    def cancel(self, task_id: str, reason: str | None = None) -> QueueTask:
        result: QueueTask = self.core.request(
            "POST", f"/queue/tasks/{task_id}/cancel", json=body(reason=reason)
        )
        return result

    def mark_read(self, task_id: str, reader_id: str) -> QueueReadCursor:
        result: QueueReadCursor = self.core.request(
            "POST", f"/queue/tasks/{task_id}/read", json={"readerId": reader_id}
        )
        return result

    def stats(self, queue: str | None = None, *, min_position: int | None = None) -> QueueStats:
        params = {"queue": queue, "minPosition": min_position}
        result: QueueStats = self.core.request("GET", "/queue/stats", params=params)
        return result

    def commander(self, queue: str | None = None, *, min_position: int | None = None) -> QueueCommander:
        params = {"queue": queue, "minPosition": min_position}
        result: QueueCommander = self.core.request("GET", "/queue/commander", params=params)
        return result
