"""Reads of the queue stats: sums of the counters of the visible tenants, and the oldest pending task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.timestamps import iso, micros
from projections.base import ViewCursor
from projections.queue_task_queries import conditions


def queue_stats(
    cur: ViewCursor, *, tenants: list[str] | None, queue: str | None, now: datetime
) -> dict[str, Any]:
    """`{queue, total, byState, byLane, maxVersion, oldestPendingAgeMs, generatedAt}`; states and
    lanes with no tasks are left out."""
    conds, params = conditions(tenants, queue)
    where = " AND ".join(conds)
    rows = cur.execute(
        f"SELECT dimension, key, SUM(n) AS n, MAX(n) AS top FROM queue_stat_counts WHERE {where} "
        "GROUP BY dimension, key",
        params,
    ).fetchall()
    counts: dict[str, dict[str, int]] = {"total": {}, "state": {}, "lane": {}}
    max_version = 0
    for row in rows:
        if row["dimension"] == "version":
            max_version = max(max_version, int(row["top"]))
        elif int(row["n"]) > 0:
            counts[row["dimension"]][row["key"]] = int(row["n"])
    # The partial index on pending tasks answers this without reading other tasks.
    oldest = cur.execute(
        f"SELECT MIN(created_us) AS us FROM queue_stat_tasks WHERE state = 'pending' AND {where}", params
    ).fetchone()
    oldest_us = oldest["us"] if oldest else None
    return {
        "queue": queue,
        "total": counts["total"].get("", 0),
        "byState": dict(sorted(counts["state"].items())),
        "byLane": dict(sorted(counts["lane"].items())),
        "maxVersion": max_version,
        "oldestPendingAgeMs": None if oldest_us is None else max(0, (micros(now) - int(oldest_us)) // 1000),
        "generatedAt": iso(now),
    }
