"""Queue task use cases: create (idempotently), read, record attempts, cancel, mark read, list, stats."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from application import access
from application.access import Principal
from application.base import UseCases
from application.retry import retry_on_conflict
from domain.errors import SchemaInvalidError
from domain.hashing import payload_hash
from domain.queue_task import QUEUE_TASK_STATES, TERMINAL_QUEUE_TASK_STATES, QueueTask, queue_task_id
from domain.queue_task_reads import QueueTaskReads, queue_task_reads_id
from domain.redaction import redact
from domain.timestamps import iso
from projections import cursors, queue_stats_queries, queue_task_queries
from projections.base import ViewCursor

# Tasks read per page of a bulk cancel: each page is a short indexed read, never the whole view.
BULK_PAGE = 100


def queue_task_record(task: QueueTask, position: int) -> dict[str, Any]:
    """The wire QueueTask of a task held, as the view would give it at `position`."""

    def value(column: str) -> Any:
        if column == "task_id":
            return task.id
        if column == "version":
            return position
        found = getattr(task, column)
        return iso(found) if isinstance(found, datetime) else found

    return queue_task_queries.task_record(value)


class QueueTaskUseCases(UseCases):
    reads = ("queue_tasks", "queue_stats")

    def create(
        self,
        principal: Principal,
        *,
        tenant_id: str,
        project_id: str,
        queue: str,
        lane: str,
        priority: int,
        payload: dict[str, Any],
        idempotency_key: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """The task and whether it was created now (False: an idempotent replay)."""
        principal.require(access.QUEUE_CREATE)
        principal.require_tenant_write(tenant_id)
        payload = redact(payload)
        digest = payload_hash(payload)
        task_id = queue_task_id(tenant_id, project_id, idempotency_key)

        def attempt() -> tuple[dict[str, Any], bool]:
            if idempotency_key is not None:
                existing = self.store.get(task_id)
                if isinstance(existing, QueueTask):
                    existing.check_same_request(queue, lane, priority, digest)
                    return queue_task_record(existing, self.store.position_of(task_id)), False
            task = QueueTask.create(
                task_id=task_id,
                tenant_id=tenant_id,
                project_id=project_id,
                queue=queue,
                lane=lane,
                priority=priority,
                payload=payload,
                payload_hash=digest,
                idempotency_key=idempotency_key,
                now=self.clock(),
            )
            # Two creates with one key race on the same aggregate id: the loser retries and finds it.
            return queue_task_record(task, self.store.save(task)[-1]), True

        return retry_on_conflict(attempt)

    def get(self, principal: Principal, task_id: str) -> dict[str, Any]:
        principal.require(access.READ)
        task = self.load(QueueTask, task_id, principal, "queue task")
        return queue_task_record(task, self.store.position_of(task_id))

    def record_attempt(
        self,
        principal: Principal,
        task_id: str,
        *,
        state: str,
        latest_attempt: dict[str, Any],
        session_path: str | None,
    ) -> dict[str, Any]:
        principal.require(access.QUEUE_ATTEMPT)
        QueueTask.check_state(state)
        latest_attempt = redact(latest_attempt)

        def attempt() -> dict[str, Any]:
            task = self.load(QueueTask, task_id, principal, "queue task")
            task.record_attempt(state, latest_attempt, session_path, self.clock())
            return queue_task_record(task, self.store.save(task)[-1])

        return retry_on_conflict(attempt)

    def cancel(self, principal: Principal, task_id: str, reason: str | None) -> dict[str, Any]:
        """Cancel the task; a terminal task is answered unchanged."""
        principal.require(access.QUEUE_CANCEL)

        def attempt() -> dict[str, Any]:
            task = self.load(QueueTask, task_id, principal, "queue task")
            if not task.cancel(reason or "cancel requested", self.clock()):
                return queue_task_record(task, self.store.position_of(task_id))
            return queue_task_record(task, self.store.save(task)[-1])

        return retry_on_conflict(attempt)

    def cancel_matching(
        self, principal: Principal, *, queue: str | None, state: str | None, reason: str | None
    ) -> dict[str, Any]:
        """Cancel every task the filter matches in the principal's tenants, page by page on the server."""
        principal.require(access.QUEUE_CANCEL)
        _check_state(state)
        matched = cancelled = position = 0
        cursor: str | None = None
        # Every task created before this request is matched: the first page waits for the views to
        # reach the log as it is now (a task enqueued a moment ago is not yet folded otherwise).
        seen = self.store.head()
        while True:
            # Every role that may cancel may read.
            items, cursor = self.page(
                principal,
                queue=queue,
                state=state,
                updated_after=None,
                limit=BULK_PAGE,
                cursor=cursor,
                min_position=seen if cursor is None else 0,
            )
            for item in items:
                matched += 1
                if item["state"] in TERMINAL_QUEUE_TASK_STATES:
                    continue
                task = self.cancel(principal, item["id"], reason)
                if task["state"] == "cancelled":
                    cancelled += 1
                    position = max(position, task["position"])
            if cursor is None:
                return {"matched": matched, "cancelled": cancelled, "position": position or None}

    def mark_read(self, principal: Principal, task_id: str, reader_id: str) -> dict[str, Any]:
        """Record that the reader has seen the task as it is now."""
        principal.require(access.QUEUE_MARK_READ)

        def attempt() -> dict[str, Any]:
            now = self.clock()
            task = self.load(QueueTask, task_id, principal, "queue task")
            version = self.store.position_of(task_id)
            reads = self.store.get(queue_task_reads_id(task_id))
            if not isinstance(reads, QueueTaskReads):
                reads = QueueTaskReads.create(task_id=task_id, tenant_id=task.tenant_id, now=now)
            reads.mark_read(reader_id, version, now)
            position = self.store.save(reads)[-1]
            return {
                "taskId": task_id,
                "readerId": reader_id,
                "taskVersion": version,
                "readAt": iso(now),
                "position": position,
            }

        return retry_on_conflict(attempt)

    def page(
        self,
        principal: Principal,
        *,
        queue: str | None,
        state: str | None,
        updated_after: int | None,
        limit: int,
        cursor: str | None,
        min_position: int | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        principal.require(access.READ)
        _check_state(state)
        order = queue_task_queries.QUEUE_ORDER if updated_after is None else queue_task_queries.CHANGE_ORDER
        after = cursors.read_cursor(cursor, len(order))
        self.wait_for_views(min_position, ["queue_tasks"])
        with self.views.read() as cur:
            items, next_key = queue_task_queries.list_tasks(
                cur,
                tenants=principal.tenant_filter(),
                queue=queue,
                state=state,
                updated_after=updated_after,
                limit=limit,
                after=after,
            )
        return items, cursors.next_cursor(next_key)

    def stats(self, principal: Principal, queue: str | None, min_position: int | None) -> dict[str, Any]:
        principal.require(access.READ)
        self.wait_for_views(min_position, ["queue_stats"])
        with self.views.read() as cur:
            return queue_stats_queries.queue_stats(
                cur, tenants=principal.tenant_filter(), queue=queue, now=self.clock()
            )

    def commander(self, principal: Principal, queue: str | None, min_position: int | None) -> dict[str, Any]:
        """The stats and the top tasks (priority desc, then created asc)."""
        principal.require(access.READ)
        self.wait_for_views(min_position)
        now = self.clock()
        # One snapshot, so the stats and the items agree however many writers fold meanwhile.
        with self._snapshot() as cur:
            tenants = principal.tenant_filter()
            stats = queue_stats_queries.queue_stats(cur, tenants=tenants, queue=queue, now=now)
            items = queue_task_queries.top_tasks(cur, tenants=tenants, queue=queue)
        return {"queue": queue, "stats": stats, "items": items, "generatedAt": iso(now)}

    def _snapshot(self) -> AbstractContextManager[ViewCursor]:
        """A read whose statements all see one state, where the views' database offers it."""
        # The Views port has no snapshot read yet (application/ports.py is not this module's).
        db = getattr(self.views, "db", None)
        return db.read(snapshot=True) if db is not None else self.views.read()


def _check_state(state: str | None) -> None:
    if state is not None and state not in QUEUE_TASK_STATES:
        raise SchemaInvalidError(f"unknown queue task state {state!r}", allowed=list(QUEUE_TASK_STATES))
