"""The inference task view: the pending-by-pool queue a binding worker drains, and the task listing.

Rows are the whole task (bodies included) so a listing page is one query. A retention sweep is an
event (`InferenceRetention.Swept`) folded here, so an offline rebuild drops the same rows.
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.timestamps import iso, micros
from projections import inference_counts
from projections.base import Projection, ViewCursor, handles


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class InferenceTasks(Projection):
    name = "inference_tasks"
    tables = {
        "inference_tasks": (
            "id TEXT PRIMARY KEY, seq BIGINT NOT NULL, status TEXT NOT NULL, pool_name TEXT NOT NULL, "
            "llm_name TEXT NOT NULL, model TEXT NOT NULL, tier TEXT, claimed_by TEXT, channel_id TEXT, "
            "request_body TEXT, response_body TEXT, error_message TEXT, streaming INTEGER NOT NULL, "
            "owner_id TEXT NOT NULL, agent_id TEXT, created_at TEXT NOT NULL, created_us BIGINT NOT NULL, "
            "claimed_at TEXT, stream_started_at TEXT, completed_at TEXT, completed_us BIGINT, "
            "position BIGINT NOT NULL"
        ),
        # Tasks per (owner, status): the console's counts (projections/inference_counts.py).
        **inference_counts.TABLES,
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS inference_tasks_pending ON inference_tasks (status, pool_name, seq)",
        "CREATE INDEX IF NOT EXISTS inference_tasks_claimed_by ON inference_tasks (claimed_by)",
        "CREATE INDEX IF NOT EXISTS inference_tasks_owner ON inference_tasks (owner_id, seq)",
        "CREATE INDEX IF NOT EXISTS inference_tasks_completed ON inference_tasks (completed_us)",
        # The task list, newest first, whichever one filter it has (ADR 0036).
        "CREATE INDEX IF NOT EXISTS inference_tasks_seq ON inference_tasks (seq)",
        "CREATE INDEX IF NOT EXISTS inference_tasks_status_seq ON inference_tasks (status, seq)",
        "CREATE INDEX IF NOT EXISTS inference_tasks_pool_seq ON inference_tasks (pool_name, seq)",
        "CREATE INDEX IF NOT EXISTS inference_tasks_agent_seq ON inference_tasks (agent_id, seq)",
    )

    @handles("InferenceTask.Created")
    def _created(self, cur: ViewCursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO inference_tasks (id, seq, status, pool_name, llm_name, model, tier, request_body, "
            "streaming, owner_id, agent_id, created_at, created_us, position) "
            "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                e.originator_id,
                position,
                e.pool_name,
                e.llm_name,
                e.model,
                e.tier,
                _json(e.request_body),
                1 if e.streaming else 0,
                e.owner_id,
                e.agent_id,
                iso(e.timestamp),
                micros(e.timestamp),
                position,
            ),
        )
        if cur.rowcount:
            inference_counts.bump(cur, e.owner_id, "pending", 1)

    @handles("InferenceTask.Claimed")
    def _claimed(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._set(
            cur,
            e,
            position,
            status="claimed",
            claimed_by=e.worker_id,
            channel_id=e.channel_id,
            claimed_at=iso(e.timestamp),
        )

    @handles("InferenceTask.ChunkStarted")
    def _chunk_started(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._set(cur, e, position, status="running", stream_started_at=iso(e.timestamp))

    @handles("InferenceTask.RevertedOnDisconnect")
    def _reverted(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._set(
            cur,
            e,
            position,
            status="pending",
            claimed_by=None,
            channel_id=None,
            claimed_at=None,
            stream_started_at=None,
        )

    @handles("InferenceTask.Completed")
    def _completed(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._end(cur, e, position, status="completed", response_body=_json(e.response_body))

    @handles("InferenceTask.Failed")
    def _failed(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._end(
            cur, e, position, status="error", error_message=e.message, response_body=_json(e.response_body)
        )

    @handles("InferenceTask.Cancelled")
    def _cancelled(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._end(cur, e, position, status="cancelled")

    @handles("InferenceTask.ExpiredInPending")
    def _expired(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._end(
            cur, e, position, status="error", error_message=f"expired in pending after {e.after_seconds}s"
        )

    @handles("InferenceRetention.Swept")
    def _swept(self, cur: ViewCursor, e: Any, position: int) -> None:
        inference_counts.swept(cur, e.tasks_before_us)
        cur.execute(
            "DELETE FROM inference_tasks WHERE completed_us IS NOT NULL AND completed_us < ?",
            (e.tasks_before_us,),
        )

    def _end(self, cur: ViewCursor, e: Any, position: int, **changes: Any) -> None:
        self._set(
            cur, e, position, completed_at=iso(e.timestamp), completed_us=micros(e.timestamp), **changes
        )

    @staticmethod
    def _set(cur: ViewCursor, e: Any, position: int, **changes: Any) -> None:
        was = inference_counts.before(cur, e.originator_id) if "status" in changes else None
        assignments = ", ".join(f"{column} = ?" for column in changes)
        cur.execute(
            f"UPDATE inference_tasks SET {assignments}, position = ? WHERE id = ?",
            (*changes.values(), position, e.originator_id),
        )
        if "status" in changes:
            inference_counts.moved(cur, was, changes["status"])
