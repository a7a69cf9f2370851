"""Reads of the inference task view: pending tasks of pools (oldest first), held tasks, the listing."""

from __future__ import annotations

from typing import Any

import orjson

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
    rows = cur.execute(
        "SELECT id FROM inference_tasks WHERE claimed_by = ? AND status IN ('claimed', 'running')",
        (worker_id,),
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
    def body(value: str | None) -> Any:
        return None if value is None else orjson.loads(value)

    return {
        "id": row["id"],
        "status": row["status"],
        "poolName": row["pool_name"],
        "llmName": row["llm_name"],
        "model": row["model"],
        "tier": row["tier"],
        "claimedBy": row["claimed_by"],
        "requestBody": body(row["request_body"]),
        "responseBody": body(row["response_body"]),
        "errorMessage": row["error_message"],
        "streaming": bool(row["streaming"]),
        "createdAt": row["created_at"],
        "claimedAt": row["claimed_at"],
        "streamStartedAt": row["stream_started_at"],
        "completedAt": row["completed_at"],
        "ownerId": row["owner_id"],
        "agentId": row["agent_id"],
        "position": row["position"],
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
