"""Queue stats kept incrementally: every QueueTask event adjusts counters, never a recount.

Counters are per tenant and queue, so a reader limited to some tenants sums only theirs; the
largest version is a counter row of its own that only rises. Pending tasks are found through a
partial index on the per-task rows, so the oldest one is an index read. An event costs two
statements: the per-task row, and one upsert of all the counters it moves.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from domain.timestamps import micros
from projections.base import Projection, ViewCursor, handles

TASK_CACHE_SIZE = 100_000


class TaskState(NamedTuple):
    tenant_id: str
    queue: str
    state: str


class QueueStats(Projection):
    name = "queue_stats"
    tables = {
        "queue_stat_counts": (
            "tenant_id TEXT NOT NULL, queue TEXT NOT NULL, dimension TEXT NOT NULL, key TEXT NOT NULL, "
            "n BIGINT NOT NULL, PRIMARY KEY (tenant_id, queue, dimension, key)"
        ),
        # What the fold must know of each task to move its counters: its place and its state.
        "queue_stat_tasks": (
            "task_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, queue TEXT NOT NULL, state TEXT NOT NULL, "
            "created_us BIGINT NOT NULL"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS queue_stat_tasks_pending ON queue_stat_tasks (created_us) "
        "WHERE state = 'pending'",
        "CREATE INDEX IF NOT EXISTS queue_stat_tasks_queue_pending ON queue_stat_tasks (queue, created_us) "
        "WHERE state = 'pending'",
    )

    def __init__(self) -> None:
        # Each task's place and state as this instance last folded it. The state may be stale (a
        # rolled-back batch, another replica's runner), so a move only trusts it through a
        # compare-and-set on the row, and falls back to a SELECT when that misses.
        self._tasks: dict[str, TaskState] = {}

    @handles("QueueTask.Created")
    def _created(self, cur: ViewCursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO queue_stat_tasks (task_id, tenant_id, queue, state, created_us) "
            "VALUES (?, ?, ?, 'pending', ?)",
            (e.originator_id, e.tenant_id, e.queue, micros(e.timestamp)),
        )
        self._remember(e.originator_id, TaskState(e.tenant_id, e.queue, "pending"))
        counts = [("total", "", 1), ("state", "pending", 1), ("lane", e.lane, 1)]
        self._count(cur, e.tenant_id, e.queue, counts, position)

    @handles("QueueTask.AttemptRecorded")
    def _attempt_recorded(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._move(cur, e.originator_id, e.state, position)

    @handles("QueueTask.Cancelled")
    def _cancelled(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._move(cur, e.originator_id, "cancelled", position)

    def _move(self, cur: ViewCursor, task_id: str, state: str, position: int) -> None:
        task = self._previous(cur, task_id, state)
        if task is None:
            return
        self._remember(task_id, task._replace(state=state))
        counts = [] if task.state == state else [("state", task.state, -1), ("state", state, 1)]
        self._count(cur, task.tenant_id, task.queue, counts, position)

    def _previous(self, cur: ViewCursor, task_id: str, state: str) -> TaskState | None:
        """The task before this move, its row already set to `state` (None: an unknown task)."""
        cached = self._tasks.get(task_id)
        if cached is not None:
            moved = cur.execute(
                "UPDATE queue_stat_tasks SET state = ? WHERE task_id = ? AND state = ?",
                (state, task_id, cached.state),
            ).rowcount
            if moved == 1:
                return cached
        sql = "SELECT tenant_id, queue, state FROM queue_stat_tasks WHERE task_id = ?"
        found = cur.execute(sql, (task_id,)).fetchone()
        if found is None:
            return None
        if found["state"] != state:
            cur.execute("UPDATE queue_stat_tasks SET state = ? WHERE task_id = ?", (state, task_id))
        return TaskState(found["tenant_id"], found["queue"], found["state"])

    def _remember(self, task_id: str, task: TaskState) -> None:
        if len(self._tasks) >= TASK_CACHE_SIZE and task_id not in self._tasks:
            self._tasks.clear()
        self._tasks[task_id] = task

    @staticmethod
    def _count(
        cur: ViewCursor, tenant_id: str, queue: str, counts: list[tuple[str, str, int]], position: int
    ) -> None:
        """Add each `(dimension, key, delta)` and raise the version to `position`, in one statement."""
        rows = [*counts, ("version", "", position)]
        values = ", ".join("(?, ?, ?, ?, ?)" for _ in rows)
        params = [value for dimension, key, n in rows for value in (tenant_id, queue, dimension, key, n)]
        cur.execute(
            f"INSERT INTO queue_stat_counts (tenant_id, queue, dimension, key, n) VALUES {values} "
            "ON CONFLICT (tenant_id, queue, dimension, key) DO UPDATE SET n = CASE "
            "WHEN excluded.dimension <> 'version' THEN queue_stat_counts.n + excluded.n "
            "WHEN excluded.n > queue_stat_counts.n THEN excluded.n ELSE queue_stat_counts.n END",
            params,
        )
