"""Reads of the queue task view: keyset pages in queue order or in change order, and the commander's top."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from projections.base import ViewCursor, in_tenants
from projections.cursors import cut_page, keyset_after

QUEUE_ORDER = ("neg_priority", "created_us", "task_id")
CHANGE_ORDER = ("version", "task_id")
COMMANDER_SIZE = 20


def conditions(
    tenants: list[str] | None, queue: str | None, state: str | None = None
) -> tuple[list[str], list[Any]]:
    """The WHERE conditions (and their parameters) limiting rows to tenants, a queue, a state."""
    tenant_condition, params = in_tenants(tenants)
    where = [tenant_condition]
    if queue is not None:
        where.append("queue = ?")
        params.append(queue)
    if state is not None:
        where.append("state = ?")
        params.append(state)
    return where, params


def list_tasks(
    cur: ViewCursor,
    *,
    tenants: list[str] | None,
    queue: str | None,
    state: str | None,
    updated_after: int | None,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page of tasks: by priority desc, created asc, id; or, with `updated_after`, by version asc."""
    where, params = conditions(tenants, queue, state)
    order = QUEUE_ORDER if updated_after is None else CHANGE_ORDER
    if updated_after is not None:
        where.append("version > ?")
        params.append(updated_after)
    columns = ", ".join(order)
    if after is not None:
        where.append(keyset_after(order))
        params.extend(after)
    rows = cur.execute(
        f"SELECT * FROM queue_tasks WHERE {' AND '.join(where)} ORDER BY {columns} LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    page, next_key = cut_page(rows, limit, order)
    return [to_task(row) for row in page], next_key


def top_tasks(cur: ViewCursor, *, tenants: list[str] | None, queue: str | None) -> list[dict[str, Any]]:
    """The commander's snapshot: the first tasks in queue order."""
    items, _ = list_tasks(
        cur, tenants=tenants, queue=queue, state=None, updated_after=None, limit=COMMANDER_SIZE, after=None
    )
    return items


def get_read_cursor(cur: ViewCursor, task_id: str, reader_id: str) -> dict[str, Any] | None:
    return cur.execute(
        "SELECT task_id, reader_id, task_version, read_at, position FROM queue_task_read_cursors "
        "WHERE task_id = ? AND reader_id = ?",
        (task_id, reader_id),
    ).fetchone()


# The wire QueueTask: each field and the view column it is read from. The aggregate's attributes
# bear the same names, so the use cases build the same record from a task they hold.
WIRE_FIELDS = {
    "id": "task_id",
    "tenantId": "tenant_id",
    "projectId": "project_id",
    "queue": "queue",
    "lane": "lane",
    "priority": "priority",
    "payload": "payload",
    "payloadHash": "payload_hash",
    "idempotencyKey": "idempotency_key",
    "state": "state",
    "version": "version",
    "latestAttempt": "latest_attempt",
    "sessionPath": "session_path",
    "attempts": "attempts",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "cancelledAt": "cancelled_at",
    "cancelReason": "cancel_reason",
    "position": "version",
}


def task_record(value: Callable[[str], Any]) -> dict[str, Any]:
    """The wire QueueTask, from each column's value; its `version` is its last event's position."""
    return {field: value(column) for field, column in WIRE_FIELDS.items()}


def to_task(row: dict[str, Any]) -> dict[str, Any]:
    decoded = {
        **row,
        "payload": orjson.loads(row["payload"]),
        "latest_attempt": orjson.loads(row["latest_attempt"]) if row["latest_attempt"] else None,
    }
    return task_record(decoded.__getitem__)
