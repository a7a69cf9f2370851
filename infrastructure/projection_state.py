"""Where each projection stands: its position, whether it is stalled (and on what), and its skips.

The state lives in the `projection_positions` rows beside the positions, so a stall holds across
restarts and every replica reports it. Skips live in the log (`ProjectionSkip.Recorded`), so the
live runner and every rebuild pass over exactly the same events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from eventsourcing.utils import get_topic

from domain.projection_skip import ProjectionSkip
from infrastructure.database import Cursor, Database
from infrastructure.event_log import EventLog
from projections.base import within

POSITIONS_TABLE = "projection_positions"
STALLED = "stalled"
# Written by `agentrun projections retry|skip`; the runner clears the stall when it sees it.
RETRY = "retry"
SKIP_TOPIC = get_topic(ProjectionSkip.Recorded)
_STATE_COLUMNS = {"status": "TEXT", "error": "TEXT"}

Skips = set[tuple[str, int]]


@dataclass(frozen=True)
class ProjectionState:
    """One row of `projection_positions`."""

    name: str
    position: int
    status: str | None = None
    error: dict[str, Any] | None = None

    @property
    def stalled(self) -> bool:
        return self.status == STALLED

    @property
    def stalled_at(self) -> int | None:
        """The position of the event it cannot pass, while stalled."""
        return int(self.error["position"]) if self.stalled and self.error else None


def create_positions_table(cur: Cursor, dialect: str) -> None:
    """The positions table, with the state columns added to stores made before them."""
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {POSITIONS_TABLE} "
        "(name TEXT PRIMARY KEY, position BIGINT NOT NULL, status TEXT, error TEXT)"
    )
    if dialect == "postgres":
        for column, kind in _STATE_COLUMNS.items():
            cur.execute(f"ALTER TABLE {POSITIONS_TABLE} ADD COLUMN IF NOT EXISTS {column} {kind}")
        return
    present = {row["name"] for row in cur.execute(f"PRAGMA table_info({POSITIONS_TABLE})").fetchall()}
    for column, kind in _STATE_COLUMNS.items():
        if column not in present:
            cur.execute(f"ALTER TABLE {POSITIONS_TABLE} ADD COLUMN {column} {kind}")


def add_rows(cur: Cursor, names: Iterable[str]) -> None:
    """A row at position 0 for each projection that has none."""
    for name in names:
        cur.execute(
            f"INSERT INTO {POSITIONS_TABLE} (name, position) VALUES (?, 0) ON CONFLICT (name) DO NOTHING",
            (name,),
        )


def _state(row: dict[str, Any]) -> ProjectionState:
    error = orjson.loads(row["error"]) if row.get("error") else None
    return ProjectionState(row["name"], int(row["position"]), row.get("status"), error)


def read_states(
    cur: Cursor, names: Iterable[str] | None = None, lock: bool = False, schema: str = ""
) -> dict[str, ProjectionState]:
    """The rows (all, or the named ones), by name; `lock` takes them FOR UPDATE on PostgreSQL;
    `schema` reads another schema's table (a rebuild's live one)."""
    sql = f"SELECT name, position, status, error FROM {_table(schema)}"
    params: list[str] = []
    if names is not None:
        params = list(names)
        sql += f" WHERE {within('name', params)}"
    # Every row in one order, so a runner and a rebuild holding these rows cannot deadlock.
    sql += " ORDER BY name" + (" FOR UPDATE" if lock else "")
    return {row["name"]: _state(row) for row in cur.execute(sql, params).fetchall()}


def read_positions(cur: Cursor, names: Iterable[str] | None = None) -> dict[str, int]:
    return {name: state.position for name, state in read_states(cur, names).items()}


def states(db: Database, names: Iterable[str] | None = None) -> dict[str, ProjectionState]:
    with db.read() as cur:
        return read_states(cur, names)


def lag(head: int, position: int) -> int:
    """The events a projection has still to fold (never below 0: the head is read after it)."""
    return max(head - position, 0)


def progress_rows(db: Database, log: EventLog, names: Iterable[str]) -> list[dict[str, Any]]:
    """Position, head, lag, status and stall of each projection, as `GET /projections` reports them:
    read from the positions table, so every replica tells the same."""
    # The positions first: a head read after them is never below what they have processed.
    found = states(db, names)
    head = log.head()
    rows = []
    for name, state in sorted(found.items()):
        behind = lag(head, state.position)
        if state.stalled:
            status, error = STALLED, state.error
        else:
            status, error = ("caught-up" if behind == 0 else "catching-up"), None
        rows.append(
            {
                "name": name,
                "position": state.position,
                "headPosition": head,
                "lag": behind,
                "status": status,
                "error": error,
            }
        )
    return rows


def set_position(cur: Cursor, name: str, position: int, clear: bool = False, schema: str = "") -> None:
    """Move a projection to `position`; `clear` also drops a stall or a retry request."""
    if clear:
        cur.execute(
            f"UPDATE {_table(schema)} SET position = ?, status = NULL, error = NULL WHERE name = ?",
            (position, name),
        )
    else:
        cur.execute(f"UPDATE {_table(schema)} SET position = ? WHERE name = ?", (position, name))


def set_positions(cur: Cursor, names: list[str], position: int) -> None:
    """Move these projections to `position`, in one statement."""
    if names:
        cur.execute(
            f"UPDATE {_table('')} SET position = ? WHERE name IN ({', '.join('?' * len(names))})",
            (position, *names),
        )


def take_retry(cur: Cursor, name: str) -> None:
    """Clear a stall an operator asked to retry (or skipped)."""
    cur.execute(
        f"UPDATE {POSITIONS_TABLE} SET status = NULL, error = NULL WHERE name = ? AND status = ?",
        (name, RETRY),
    )


def _table(schema: str) -> str:
    return f"{schema}.{POSITIONS_TABLE}" if schema else POSITIONS_TABLE


def mark_stalled(cur: Cursor, name: str, error: dict[str, Any]) -> None:
    cur.execute(
        f"UPDATE {POSITIONS_TABLE} SET status = ?, error = ? WHERE name = ?",
        (STALLED, orjson.dumps(error).decode(), name),
    )


def request_retry(db: Database, name: str) -> ProjectionState | None:
    """Ask the running projection runner to try a stalled projection again; None when it is not stalled."""
    with db.transaction() as cur:
        state = read_states(cur, [name], lock=db.dialect == "postgres").get(name)
        if state is None or not state.stalled:
            return None
        cur.execute(f"UPDATE {POSITIONS_TABLE} SET status = ? WHERE name = ?", (RETRY, name))
        return state


def load_skips(log: EventLog, page: int = 10_000) -> Skips:
    """Every (projection, position) the log says to skip; a scan filtered by topic."""
    skips: Skips = set()
    after = 0
    while True:
        found = log.recorder.select_notifications(
            start=after, limit=page, topics=[SKIP_TOPIC], inclusive_of_start=False
        )
        for notification in found:
            event = log.decode(notification)
            skips.add((str(event.projection), int(event.position)))  # type: ignore[attr-defined]
        if len(found) < page:
            return skips
        after = found[-1].id


class StallBoard:
    """The positions table as the operator's board of stalls (the application's `StallBoard` port)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def stall_of(self, name: str) -> dict[str, Any] | None:
        state = states(self.db, [name]).get(name)
        return state.error if state is not None and state.stalled else None

    def request_retry(self, name: str) -> dict[str, Any] | None:
        state = request_retry(self.db, name)
        return state.error if state is not None else None
