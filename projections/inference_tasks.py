"""The inference task view: the pending-by-pool queue a binding worker drains, and the task listing.

Rows are the whole task (bodies included) so a listing page is one query. A retention sweep is an
event (`InferenceRetention.Swept`) folded here, so an offline rebuild drops the same rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from domain.base import event_name
from domain.timestamps import iso, micros
from projections import inference_counts
from projections.base import Projection, ViewCursor, handles, within

CREATED = "InferenceTask.Created"
_TASKS = (
    "id TEXT PRIMARY KEY, seq BIGINT NOT NULL, status TEXT NOT NULL, pool_name TEXT NOT NULL, "
    "llm_name TEXT NOT NULL, model TEXT NOT NULL, tier TEXT, claimed_by TEXT, channel_id TEXT, "
    "request_body TEXT, response_body TEXT, error_message TEXT, streaming INTEGER NOT NULL, "
    "owner_id TEXT NOT NULL, agent_id TEXT, created_at TEXT NOT NULL, created_us BIGINT NOT NULL, "
    "claimed_at TEXT, stream_started_at TEXT, completed_at TEXT, completed_us BIGINT, "
    "position BIGINT NOT NULL"
)
# Each column's type, read from the DDL: PostgreSQL takes a batch's rows as one JSON array by them.
_TYPES = {column: sql_type.lower() for column, sql_type, *_ in (part.split() for part in _TASKS.split(", "))}


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _ended(e: Any, status: str, **changes: Any) -> dict[str, Any]:
    return {
        "status": status,
        "completed_at": iso(e.timestamp),
        "completed_us": micros(e.timestamp),
        **changes,
    }


# The columns each status change sets, one definition for the fold of one event and of a batch.
CHANGES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "InferenceTask.Claimed": lambda e: {
        "status": "claimed",
        "claimed_by": e.worker_id,
        "channel_id": e.channel_id,
        "claimed_at": iso(e.timestamp),
    },
    "InferenceTask.ChunkStarted": lambda e: {"status": "running", "stream_started_at": iso(e.timestamp)},
    "InferenceTask.RevertedOnDisconnect": lambda e: {
        "status": "pending",
        "claimed_by": None,
        "channel_id": None,
        "claimed_at": None,
        "stream_started_at": None,
    },
    "InferenceTask.Completed": lambda e: _ended(e, "completed", response_body=_json(e.response_body)),
    "InferenceTask.Failed": lambda e: _ended(
        e, "error", error_message=e.message, response_body=_json(e.response_body)
    ),
    "InferenceTask.Cancelled": lambda e: _ended(e, "cancelled"),
    "InferenceTask.ExpiredInPending": lambda e: _ended(
        e, "error", error_message=f"expired in pending after {e.after_seconds}s"
    ),
}
# Every column a change may set, and the position: what a batch reads of a row and writes back.
_CHANGING = (
    "status", "claimed_by", "channel_id", "claimed_at", "stream_started_at", "response_body",
    "error_message", "completed_at", "completed_us", "position",
)  # fmt: skip
_INSERT = (
    f"INSERT INTO inference_tasks ({', '.join(_TYPES)}) VALUES ({', '.join('?' * len(_TYPES))}) "
    "ON CONFLICT (id) DO NOTHING"
)
_READ = f"SELECT id, owner_id, {', '.join(_CHANGING)} FROM inference_tasks WHERE "
# One statement for many rows on both: the rows are a CTE the UPDATE joins (SQLite 3.33+).
_UPDATE = (
    f"WITH changed (id, {', '.join(_CHANGING)}) AS (VALUES (?, {', '.join('?' * len(_CHANGING))})) "
    f"UPDATE inference_tasks SET {', '.join(f'{column} = changed.{column}' for column in _CHANGING)} "
    "FROM changed WHERE inference_tasks.id = changed.id"
)


def _created_row(e: Any, position: int) -> dict[str, Any]:
    """Every column of a task's row as its creation makes it, in table order."""
    return dict.fromkeys(_TYPES) | {
        "id": e.originator_id,
        "seq": position,
        "status": "pending",
        "pool_name": e.pool_name,
        "llm_name": e.llm_name,
        "model": e.model,
        "tier": e.tier,
        "request_body": _json(e.request_body),
        "streaming": 1 if e.streaming else 0,
        "owner_id": e.owner_id,
        "agent_id": e.agent_id,
        "created_at": iso(e.timestamp),
        "created_us": micros(e.timestamp),
        "position": position,
    }


class InferenceTasks(Projection):
    name = "inference_tasks"
    tables = {
        "inference_tasks": _TASKS,
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

    @handles(CREATED)
    def _created(self, cur: ViewCursor, e: Any, position: int) -> None:
        cur.execute(_INSERT, tuple(_created_row(e, position).values()))
        if cur.rowcount:
            inference_counts.bump(cur, e.owner_id, "pending", 1)

    @handles(*CHANGES)
    def _changed(self, cur: ViewCursor, e: Any, position: int) -> None:
        changes = CHANGES[event_name(e)](e)
        was = inference_counts.before(cur, e.originator_id)
        assignments = ", ".join(f"{column} = ?" for column in changes)
        cur.execute(
            f"UPDATE inference_tasks SET {assignments}, position = ? WHERE id = ?",
            (*changes.values(), position, e.originator_id),
        )
        inference_counts.moved(cur, was, changes["status"])

    @handles("InferenceRetention.Swept")
    def _swept(self, cur: ViewCursor, e: Any, position: int) -> None:
        inference_counts.swept(cur, e.tasks_before_us)
        cur.execute(
            "DELETE FROM inference_tasks WHERE completed_us IS NOT NULL AND completed_us < ?",
            (e.tasks_before_us,),
        )

    def apply_batch(self, cur: ViewCursor, events: Sequence[tuple[int, Any]]) -> None:
        # Creations and status changes between sweeps fold together; a sweep, rare, one by one.
        run: list[tuple[int, Any]] = []
        for position, event in events:
            name = event_name(event)
            if name == CREATED or name in CHANGES:
                run.append((position, event))
            elif self.folds(name):
                self._fold_run(cur, run)
                run = []
                self.apply(cur, event, position)
        self._fold_run(cur, run)

    @staticmethod
    def _fold_run(cur: ViewCursor, events: list[tuple[int, Any]]) -> None:
        """Fold creations and status changes in four statements: read the rows they find, then
        insert the new rows, update the others, and bump the counters, each in one statement."""
        if not events:
            return
        ids = list(dict.fromkeys(e.originator_id for _, e in events))
        found = {row["id"]: row for row in cur.execute(_READ + within("id", ids), ids).fetchall()}
        created: dict[str, dict[str, Any]] = {}
        changed: dict[str, dict[str, Any]] = {}
        deltas: inference_counts.Deltas = Counter()
        for position, e in events:
            task_id = e.originator_id
            name = event_name(e)
            row = found.get(task_id) or created.get(task_id)
            if name == CREATED:
                if row is None:  # else the insert finds the task there and does nothing
                    created[task_id] = _created_row(e, position)
                    inference_counts.tally(deltas, e.owner_id, None, "pending")
                continue
            if row is None:  # the update finds no row
                continue
            changes = CHANGES[name](e)
            inference_counts.tally(deltas, row["owner_id"], row["status"], changes["status"])
            row.update(changes, position=position)
            if task_id in found:
                changed[task_id] = row
        if created:
            rows = [tuple(row.values()) for row in created.values()]
            cur.executemany(_INSERT, rows, types=tuple(_TYPES.values()))
        if changed:
            rows = [(row["id"], *(row[column] for column in _CHANGING)) for row in changed.values()]
            cur.executemany(_UPDATE, rows, types=tuple(_TYPES[column] for column in ("id", *_CHANGING)))
        inference_counts.bump_all(cur, deltas)
