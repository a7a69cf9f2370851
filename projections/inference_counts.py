"""Inference tasks per (owner, status), kept as counters by the inference task fold, never scanned."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from projections.base import ViewCursor

TABLES = {
    "inference_task_counts": (
        "owner_id TEXT NOT NULL, status TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (owner_id, status)"
    ),
}
_BUMP = (
    "INSERT INTO inference_task_counts (owner_id, status, n) VALUES (?, ?, ?) "
    "ON CONFLICT (owner_id, status) DO UPDATE SET n = inference_task_counts.n + excluded.n"
)

Deltas = Counter[tuple[str, str]]


def bump(cur: ViewCursor, owner_id: str, status: str, by: int) -> None:
    cur.execute(_BUMP, (owner_id, status, by))


def bump_all(cur: ViewCursor, deltas: Mapping[tuple[str, str], int]) -> None:
    """Every `bump` of a batch, summed per (owner, status), in one statement."""
    if deltas:
        # A delta summing to zero changes no row, yet still makes a missing one (at 0): the bumps
        # it sums, one event at a time, would have.
        cur.executemany(
            f"{_BUMP} WHERE excluded.n <> 0",
            [(owner_id, status, by) for (owner_id, status), by in deltas.items()],
            types=("text", "text", "bigint"),
        )


def tally(deltas: Deltas, owner_id: str, was: str | None, status: str) -> None:
    """Count a task of the owner out of status `was` (None: a new task) and into `status`."""
    if was == status:
        return
    if was is not None:
        deltas[owner_id, was] -= 1
    deltas[owner_id, status] += 1


def before(cur: ViewCursor, task_id: str) -> dict[str, Any] | None:
    """The owner and status a task is counted under now."""
    return cur.execute("SELECT owner_id, status FROM inference_tasks WHERE id = ?", (task_id,)).fetchone()


def moved(cur: ViewCursor, was: dict[str, Any] | None, status: str) -> None:
    if was is None:
        return
    deltas: Deltas = Counter()
    tally(deltas, was["owner_id"], was["status"], status)
    for (owner_id, counted), by in deltas.items():
        bump(cur, owner_id, counted, by)


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
