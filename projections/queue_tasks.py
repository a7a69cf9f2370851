"""The queue task view and per-reader read cursors, folded from QueueTask and QueueTaskReads events.

A task's `version` is the log position of its last event, so versions of all tasks are
comparable and `updatedAfter=V` is a cursor over the whole log.
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.timestamps import iso, micros
from projections.base import Projection, ViewCursor, handles


class QueueTasks(Projection):
    name = "queue_tasks"
    tables = {
        "queue_tasks": (
            "task_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, project_id TEXT NOT NULL, "
            "queue TEXT NOT NULL, lane TEXT NOT NULL, priority BIGINT NOT NULL, "
            "neg_priority BIGINT NOT NULL, payload TEXT NOT NULL, payload_hash TEXT NOT NULL, "
            "idempotency_key TEXT, state TEXT NOT NULL, version BIGINT NOT NULL, latest_attempt TEXT, "
            "session_path TEXT, attempts BIGINT NOT NULL, created_at TEXT NOT NULL, "
            "created_us BIGINT NOT NULL, updated_at TEXT NOT NULL, cancelled_at TEXT, cancel_reason TEXT"
        ),
        "queue_task_read_cursors": (
            "task_id TEXT NOT NULL, reader_id TEXT NOT NULL, task_version BIGINT NOT NULL, "
            "read_at TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (task_id, reader_id)"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS queue_tasks_order ON queue_tasks (neg_priority, created_us, task_id)",
        "CREATE INDEX IF NOT EXISTS queue_tasks_queue_order "
        "ON queue_tasks (queue, neg_priority, created_us, task_id)",
        "CREATE INDEX IF NOT EXISTS queue_tasks_version ON queue_tasks (version)",
        "CREATE INDEX IF NOT EXISTS queue_tasks_queue_version ON queue_tasks (queue, version)",
    )

    @handles("QueueTask.Created")
    def _created(self, cur: ViewCursor, e: Any, position: int) -> None:
        at = iso(e.timestamp)
        cur.execute(
            "INSERT INTO queue_tasks (task_id, tenant_id, project_id, queue, lane, priority, neg_priority, "
            "payload, payload_hash, idempotency_key, state, version, attempts, created_at, created_us, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, 0, ?, ?, ?)",
            (
                e.originator_id,
                e.tenant_id,
                e.project_id,
                e.queue,
                e.lane,
                e.priority,
                -e.priority,
                orjson.dumps(e.payload).decode(),
                e.payload_hash,
                e.idempotency_key,
                position,
                at,
                micros(e.timestamp),
                at,
            ),
        )

    @handles("QueueTask.AttemptRecorded")
    def _attempt_recorded(self, cur: ViewCursor, e: Any, position: int) -> None:
        changes: dict[str, Any] = {
            "state": e.state,
            "latest_attempt": orjson.dumps(e.latest_attempt).decode(),
        }
        if e.session_path is not None:
            changes["session_path"] = e.session_path
        if e.state == "cancelled":
            changes["cancelled_at"] = iso(e.timestamp)
        self._update(cur, e, position, changes, "attempts = attempts + 1, ")

    @handles("QueueTask.Cancelled")
    def _cancelled(self, cur: ViewCursor, e: Any, position: int) -> None:
        changes = {"state": "cancelled", "cancelled_at": iso(e.timestamp), "cancel_reason": e.reason}
        self._update(cur, e, position, changes)

    @handles("QueueTaskReads.ReadMarked")
    def _read_marked(self, cur: ViewCursor, e: Any, position: int) -> None:
        task_id = str(e.originator_id).removeprefix("queue-reads:")
        cur.execute(
            "INSERT INTO queue_task_read_cursors (task_id, reader_id, task_version, read_at, position) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id, reader_id) DO UPDATE SET "
            "task_version = excluded.task_version, read_at = excluded.read_at, position = excluded.position",
            (task_id, e.reader_id, e.task_version, iso(e.timestamp), position),
        )

    def _update(
        self, cur: ViewCursor, e: Any, position: int, changes: dict[str, Any], extra: str = ""
    ) -> None:
        changes = {**changes, "version": position, "updated_at": iso(e.timestamp)}
        assignments = extra + ", ".join(f"{column} = ?" for column in changes)
        cur.execute(
            f"UPDATE queue_tasks SET {assignments} WHERE task_id = ?", (*changes.values(), e.originator_id)
        )
