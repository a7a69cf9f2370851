"""Queue stats kept incrementally: every QueueTask event adjusts counters, never a recount.

Counters are per tenant and queue, so a reader limited to some tenants sums only theirs. The
pending table holds only pending tasks, indexed by creation, so the oldest one is an index read.
"""

from __future__ import annotations

from typing import Any

from domain.timestamps import micros
from projections.base import Projection, ViewCursor, handles


class QueueStats(Projection):
    name = "queue_stats"
    tables = {
        "queue_stat_counts": (
            "tenant_id TEXT NOT NULL, queue TEXT NOT NULL, dimension TEXT NOT NULL, key TEXT NOT NULL, "
            "n BIGINT NOT NULL, PRIMARY KEY (tenant_id, queue, dimension, key)"
        ),
        "queue_stat_versions": (
            "tenant_id TEXT NOT NULL, queue TEXT NOT NULL, max_version BIGINT NOT NULL, "
            "PRIMARY KEY (tenant_id, queue)"
        ),
        # What the fold must know of each task to move its counters: its place and its state.
        "queue_stat_tasks": (
            "task_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, queue TEXT NOT NULL, state TEXT NOT NULL, "
            "created_us BIGINT NOT NULL"
        ),
        "queue_pending": (
            "task_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, queue TEXT NOT NULL, "
            "created_us BIGINT NOT NULL"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS queue_pending_created ON queue_pending (created_us)",
        "CREATE INDEX IF NOT EXISTS queue_pending_queue_created ON queue_pending (queue, created_us)",
    )

    @handles("QueueTask.Created")
    def _created(self, cur: ViewCursor, e: Any, position: int) -> None:
        created_us = micros(e.timestamp)
        cur.execute(
            "INSERT INTO queue_stat_tasks (task_id, tenant_id, queue, state, created_us) "
            "VALUES (?, ?, ?, 'pending', ?)",
            (e.originator_id, e.tenant_id, e.queue, created_us),
        )
        self._count(cur, e.tenant_id, e.queue, "total", "", 1)
        self._count(cur, e.tenant_id, e.queue, "state", "pending", 1)
        self._count(cur, e.tenant_id, e.queue, "lane", e.lane, 1)
        self._pending(cur, e.originator_id, e.tenant_id, e.queue, created_us)
        self._version(cur, e.tenant_id, e.queue, position)

    @handles("QueueTask.AttemptRecorded")
    def _attempt_recorded(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._move(cur, e.originator_id, e.state, position)

    @handles("QueueTask.Cancelled")
    def _cancelled(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._move(cur, e.originator_id, "cancelled", position)

    def _move(self, cur: ViewCursor, task_id: str, state: str, position: int) -> None:
        row = cur.execute(
            "SELECT tenant_id, queue, state, created_us FROM queue_stat_tasks WHERE task_id = ?", (task_id,)
        ).fetchone()
        if row is None:
            return
        tenant_id, queue, previous = row["tenant_id"], row["queue"], row["state"]
        self._version(cur, tenant_id, queue, position)
        if previous == state:
            return
        cur.execute("UPDATE queue_stat_tasks SET state = ? WHERE task_id = ?", (state, task_id))
        self._count(cur, tenant_id, queue, "state", previous, -1)
        self._count(cur, tenant_id, queue, "state", state, 1)
        if previous == "pending":
            cur.execute("DELETE FROM queue_pending WHERE task_id = ?", (task_id,))
        elif state == "pending":
            self._pending(cur, task_id, tenant_id, queue, row["created_us"])

    @staticmethod
    def _count(cur: ViewCursor, tenant_id: str, queue: str, dimension: str, key: str, delta: int) -> None:
        cur.execute(
            "INSERT INTO queue_stat_counts (tenant_id, queue, dimension, key, n) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, queue, dimension, key) DO UPDATE SET "
            "n = queue_stat_counts.n + excluded.n",
            (tenant_id, queue, dimension, key, delta),
        )

    @staticmethod
    def _pending(cur: ViewCursor, task_id: str, tenant_id: str, queue: str, created_us: int) -> None:
        cur.execute(
            "INSERT INTO queue_pending (task_id, tenant_id, queue, created_us) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (task_id) DO NOTHING",
            (task_id, tenant_id, queue, created_us),
        )

    @staticmethod
    def _version(cur: ViewCursor, tenant_id: str, queue: str, position: int) -> None:
        cur.execute(
            "INSERT INTO queue_stat_versions (tenant_id, queue, max_version) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant_id, queue) DO UPDATE SET max_version = CASE "
            "WHEN excluded.max_version > queue_stat_versions.max_version THEN excluded.max_version "
            "ELSE queue_stat_versions.max_version END",
            (tenant_id, queue, position),
        )
