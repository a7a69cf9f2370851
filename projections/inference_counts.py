"""Inference tasks per (owner, status), kept as counters by the inference task fold, never scanned."""

from __future__ import annotations

from typing import Any

from projections.base import ViewCursor

TABLES = {
    "inference_task_counts": (
        "owner_id TEXT NOT NULL, status TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (owner_id, status)"
    ),
}


def bump(cur: ViewCursor, owner_id: str, status: str, by: int) -> None:
    cur.execute(
        "INSERT INTO inference_task_counts (owner_id, status, n) VALUES (?, ?, ?) "
        "ON CONFLICT (owner_id, status) DO UPDATE SET n = inference_task_counts.n + excluded.n",
        (owner_id, status, by),
    )


def before(cur: ViewCursor, task_id: str) -> dict[str, Any] | None:
    """The owner and status a task is counted under now."""
    return cur.execute("SELECT owner_id, status FROM inference_tasks WHERE id = ?", (task_id,)).fetchone()


def moved(cur: ViewCursor, was: dict[str, Any] | None, status: str) -> None:
    if was is not None and was["status"] != status:
        bump(cur, was["owner_id"], was["status"], -1)
        bump(cur, was["owner_id"], status, 1)


def swept(cur: ViewCursor, before_us: int) -> None:
    """Uncount the terminal tasks a retention sweep is about to delete."""
    rows = cur.execute(
        "SELECT owner_id, status, COUNT(*) AS n FROM inference_tasks "
        "WHERE completed_us IS NOT NULL AND completed_us < ? GROUP BY owner_id, status",
        (before_us,),
    ).fetchall()
    for row in rows:
        bump(cur, row["owner_id"], row["status"], -int(row["n"]))


def counts(cur: ViewCursor, owner_id: str | None, statuses: tuple[str, ...]) -> dict[str, int]:
    """Tasks by status, of one owner or (None) of all, from the counters."""
    where, params = ("WHERE owner_id = ?", (owner_id,)) if owner_id is not None else ("", ())
    rows = cur.execute(
        f"SELECT status, SUM(n) AS n FROM inference_task_counts {where} GROUP BY status", params
    ).fetchall()
    found = {row["status"]: int(row["n"]) for row in rows}
    return {status: found.get(status, 0) for status in statuses}
