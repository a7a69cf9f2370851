"""Reads of the inference task view: pending tasks of pools (oldest first), held tasks, the listing."""

from __future__ import annotations

from typing import Any

import orjson

from domain.inference_task import HELD
from projections.base import ViewCursor
from projections.cursors import decode_cursor, encode_cursor


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


def pending_for_pools(cur: ViewCursor, pools: list[str], limit: int) -> list[str]:
    """Ids of pending tasks of the pools, oldest first."""
    if not pools:
        return []
    rows = cur.execute(
        f"SELECT id FROM inference_tasks WHERE status = 'pending' AND pool_name IN ({_marks(pools)}) "
        "ORDER BY seq LIMIT ?",
        (*pools, limit),
    ).fetchall()
    return [row["id"] for row in rows]


def held_by(cur: ViewCursor, worker_id: str) -> list[str]:
    """Ids of the tasks the view shows as claimed or running by the worker."""
    held = sorted(HELD)
    rows = cur.execute(
        f"SELECT id FROM inference_tasks WHERE claimed_by = ? AND status IN ({_marks(held)})",
        (worker_id, *held),
    ).fetchall()
    return [row["id"] for row in rows]


def pending_created_before(cur: ViewCursor, before_us: int, limit: int = 500) -> list[str]:
    rows = cur.execute(
        "SELECT id FROM inference_tasks WHERE status = 'pending' AND created_us < ? ORDER BY seq LIMIT ?",
        (before_us, limit),
    ).fetchall()
    return [row["id"] for row in rows]


def any_terminal_before(cur: ViewCursor, before_us: int) -> bool:
    row = cur.execute(
        "SELECT id FROM inference_tasks WHERE completed_us IS NOT NULL AND completed_us < ? LIMIT 1",
        (before_us,),
    ).fetchone()
    return row is not None


def list_tasks(
    cur: ViewCursor,
    *,
    owner_id: str | None,
    status: str | None,
    pool_name: str | None,
    agent_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of tasks, newest first, and the cursor of the next page."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    for column, value in (
        ("owner_id", owner_id),
        ("status", status),
        ("pool_name", pool_name),
        ("agent_id", agent_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if cursor is not None:
        key = decode_cursor(cursor, 1)
        if key is None or not isinstance(key[0], int):
            raise ValueError("cursor is not one this list issued")
        where.append("seq < ?")
        params.append(key[0])
    rows = cur.execute(
        f"SELECT * FROM inference_tasks WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1]["seq"]]) if more and rows else None
    return [to_record(row) for row in rows], next_cursor


def to_record(row: dict[str, Any]) -> dict[str, Any]:
    """The wire record of a view row."""

    def body(value: str | None) -> Any:
        return None if value is None else orjson.loads(value)

    return task_record(
        id=row["id"],
        status=row["status"],
        pool_name=row["pool_name"],
        llm_name=row["llm_name"],
        model=row["model"],
        tier=row["tier"],
        claimed_by=row["claimed_by"],
        request_body=body(row["request_body"]),
        response_body=body(row["response_body"]),
        error_message=row["error_message"],
        streaming=bool(row["streaming"]),
        created_at=row["created_at"],
        claimed_at=row["claimed_at"],
        stream_started_at=row["stream_started_at"],
        completed_at=row["completed_at"],
        owner_id=row["owner_id"],
        agent_id=row["agent_id"],
        position=row["position"],
    )


def task_record(
    *,
    id: str,
    status: str,
    pool_name: str,
    llm_name: str | None,
    model: str | None,
    tier: str | None,
    claimed_by: str | None,
    request_body: Any,
    response_body: Any,
    error_message: str | None,
    streaming: bool,
    created_at: str | None,
    claimed_at: str | None,
    stream_started_at: str | None,
    completed_at: str | None,
    owner_id: str | None,
    agent_id: str | None,
    position: int,
) -> dict[str, Any]:
    """The one wire shape of an inference task, from a view row or from the aggregate."""
    return {
        "id": id,
        "status": status,
        "poolName": pool_name,
        "llmName": llm_name,
        "model": model,
        "tier": tier,
        "claimedBy": claimed_by,
        "requestBody": request_body,
        "responseBody": response_body,
        "errorMessage": error_message,
        "streaming": streaming,
        "createdAt": created_at,
        "claimedAt": claimed_at,
        "streamStartedAt": stream_started_at,
        "completedAt": completed_at,
        "ownerId": owner_id,
        "agentId": agent_id,
        "position": position,
    }


def pending_rows(cur: ViewCursor, pools: list[str], limit: int) -> list[dict[str, Any]]:
    """Pending tasks of the pools (id, pool, creation time), oldest first."""
    if not pools:
        return []
    return cur.execute(
        f"SELECT id, pool_name, created_us FROM inference_tasks WHERE status = 'pending' "
        f"AND pool_name IN ({_marks(pools)}) ORDER BY seq LIMIT ?",
        (*pools, limit),
    ).fetchall()
