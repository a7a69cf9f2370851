"""Reads of the worker registry: workers with their LLMs, LLMs by name and by pool."""

from __future__ import annotations

from typing import Any

import orjson

from projections.base import ViewCursor

_LLM_SELECT = (
    "SELECT l.*, w.active AS worker_active, w.channel_id AS worker_channel FROM registry_llms l "
    "JOIN registry_workers w ON w.worker_id = l.worker_id"
)


def llm_record(row: dict[str, Any]) -> dict[str, Any]:
    status = "inactive" if not row["worker_active"] else "hibernating" if row["hibernating"] else "active"
    return {
        "name": row["name"],
        "model": row["model"],
        "type": row["type"],
        "tier": row["tier"],
        "poolName": row["pool_name"],
        "workerId": row["worker_id"],
        "status": status,
        "bound": row["worker_channel"] is not None,
        "updatedAt": row["updated_at"],
    }


def list_llms(cur: ViewCursor) -> list[dict[str, Any]]:
    return [llm_record(row) for row in cur.execute(f"{_LLM_SELECT} ORDER BY l.name").fetchall()]


def get_llm(cur: ViewCursor, name: str) -> dict[str, Any] | None:
    row = cur.execute(f"{_LLM_SELECT} WHERE l.name = ?", (name,)).fetchone()
    return None if row is None else llm_record(row)


def llms_of_pool(cur: ViewCursor, pool: str) -> list[dict[str, Any]]:
    rows = cur.execute(f"{_LLM_SELECT} WHERE l.pool_key = ? ORDER BY l.name", (pool,)).fetchall()
    return [llm_record(row) for row in rows]


def bound_workers_of_pool(cur: ViewCursor, pool: str) -> list[str]:
    rows = cur.execute(
        "SELECT DISTINCT w.worker_id FROM registry_llms l JOIN registry_workers w "
        "ON w.worker_id = l.worker_id WHERE l.pool_key = ? AND w.channel_id IS NOT NULL AND w.active = 1",
        (pool,),
    ).fetchall()
    return [row["worker_id"] for row in rows]


def worker_record(row: dict[str, Any], llms: list[dict[str, Any]]) -> dict[str, Any]:
    state = orjson.loads(row["state"])
    return {
        "workerId": row["worker_id"],
        "status": "active" if row["active"] else "inactive",
        "bound": row["channel_id"] is not None,
        "workerStatus": state.get("workerStatus"),
        "externalMetadata": state.get("externalMetadata") or {},
        "internalMetadata": state.get("internalMetadata") or {},
        "state": state,
        "llms": llms,
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "position": row["position"],
    }


def get_worker(cur: ViewCursor, worker_id: str) -> dict[str, Any] | None:
    row = cur.execute("SELECT * FROM registry_workers WHERE worker_id = ?", (worker_id,)).fetchone()
    if row is None:
        return None
    llms = cur.execute(f"{_LLM_SELECT} WHERE l.worker_id = ? ORDER BY l.name", (worker_id,)).fetchall()
    return worker_record(row, [llm_record(r) for r in llms])


def list_workers(cur: ViewCursor) -> list[dict[str, Any]]:
    rows = cur.execute("SELECT * FROM registry_workers ORDER BY worker_id").fetchall()
    llms: dict[str, list[dict[str, Any]]] = {}
    for r in cur.execute(f"{_LLM_SELECT} ORDER BY l.name").fetchall():
        llms.setdefault(r["worker_id"], []).append(llm_record(r))
    return [worker_record(row, llms.get(row["worker_id"], [])) for row in rows]


def any_inactive_before(cur: ViewCursor, before_us: int) -> bool:
    """Whether a worker has been inactive since before `before_us` (its LLMs are due to leave)."""
    row = cur.execute(
        "SELECT worker_id FROM registry_workers WHERE active = 0 AND inactive_since_us < ? LIMIT 1",
        (before_us,),
    ).fetchone()
    return row is not None
