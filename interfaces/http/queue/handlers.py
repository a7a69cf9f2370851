"""Handlers of queue tasks, their stats and the commander snapshot."""

from __future__ import annotations

from typing import Any

from interfaces.http.endpoint import Call, page
from interfaces.http.queue.models import QueueTaskListQuery, QueueViewQuery


def create_task(call: Call) -> tuple[int, Any]:
    b = call.body
    task, created = call.app.queue_tasks.create(
        call.principal,
        tenant_id=b.tenant_id,
        project_id=b.project_id,
        queue=b.queue,
        lane=b.lane,
        priority=b.priority,
        payload=b.payload,
        idempotency_key=b.idempotency_key,
    )
    return (201 if created else 200), task


def list_tasks(call: Call) -> Any:
    q = call.query(QueueTaskListQuery)
    items, next_cursor = call.app.queue_tasks.page(
        call.principal,
        queue=q.queue,
        state=q.state,
        updated_after=q.updated_after,
        limit=q.limit,
        cursor=q.cursor,
        min_position=q.min_position,
    )
    return page(items, next_cursor)


def get_task(call: Call) -> Any:
    return call.app.queue_tasks.get(call.principal, call.path["taskId"])


def record_attempt(call: Call) -> Any:
    b = call.body
    return call.app.queue_tasks.record_attempt(
        call.principal,
        call.path["taskId"],
        state=b.state,
        latest_attempt=b.latest_attempt,
        session_path=b.session_path,
    )


def cancel_task(call: Call) -> Any:
    return call.app.queue_tasks.cancel(call.principal, call.path["taskId"], call.body.reason)


def mark_read(call: Call) -> Any:
    return call.app.queue_tasks.mark_read(call.principal, call.path["taskId"], call.body.reader_id)


def stats(call: Call) -> Any:
    q = call.query(QueueViewQuery)
    return call.app.queue_tasks.stats(call.principal, q.queue, q.min_position)


def commander(call: Call) -> Any:
    q = call.query(QueueViewQuery)
    return call.app.queue_tasks.commander(call.principal, q.queue, q.min_position)


def cancel_matching(call: Call) -> Any:
    b = call.body
    return call.app.queue_tasks.cancel_matching(call.principal, queue=b.queue, state=b.state, reason=b.reason)
