"""Synthetic session summary rows written straight into the view (for plans and 1M-row reads).

The rows obey the fold's invariants (active_rank, neg_activity, the read cursors' copies and
is_read), with activity ties so the order's last key, the session id, is exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from infrastructure.database import Database, PostgresDatabase

SUMMARY_COLUMNS = (
    "session_id, tenant_id, project_id, backend_profile, metadata, version, execution_state, "
    "last_run_id, active_run_id, last_event_seq, terminal_status, last_activity_at, activity_us, "
    "created_at, updated_at, active_rank, neg_activity"
)
CURSOR_COLUMNS = (
    "session_id, reader_id, session_version, read_at, position, tenant_id, backend_profile, "
    "execution_state, neg_activity, is_read"
)
BASE_US = 1_700_000_000_000_000
TENANTS = ("t0", "t1", "t2", "t3")
PROFILES = ("prof-a", "prof-b", "prof-c")


def _state(i: int) -> str:
    return "running" if i % 50 == 0 else ("idle" if i % 7 == 0 else "terminal")


def summary_rows(n: int, prefix: str = "syn") -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        state = _state(i)
        us = BASE_US + (i // 2) * 1_000  # pairs share an activity: the id breaks the tie
        at = "2023-11-14T22:13:20Z"
        yield (
            f"{prefix}-{i:08d}", TENANTS[i % 4], "p", PROFILES[i % 3], "{}", 10 * i + 10, state,
            f"run-{i}", f"run-{i}" if state == "running" else None, 0,
            "completed" if state == "terminal" else None, at, us, at, at,
            0 if state == "running" else 1, -us,
        )  # fmt: skip


def cursor_rows(n: int, reader: str, prefix: str = "syn") -> Iterator[tuple[Any, ...]]:
    """The reader has a cursor on every third session: current on two of three, stale on the rest."""
    for i in range(0, n, 3):
        state = _state(i)
        version = 10 * i + 10 - (5 if i % 9 == 0 else 0)
        current = version >= 10 * i + 10
        us = BASE_US + (i // 2) * 1_000
        is_read = 1 if current and state != "running" else 0
        yield (
            f"{prefix}-{i:08d}", reader, version, "2023-11-14T22:13:20Z", i, TENANTS[i % 4],
            PROFILES[i % 3], state, -us, is_read,
        )  # fmt: skip


def fill(db: Database, n: int, reader: str = "r1") -> None:
    """Insert `n` sessions and `reader`'s cursors (COPY on PostgreSQL), then refresh statistics."""
    if isinstance(db, PostgresDatabase):
        with psycopg.connect(db.conninfo, autocommit=True) as conn:
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY session_summaries ({SUMMARY_COLUMNS}) FROM STDIN") as copy,
            ):
                for row in summary_rows(n):
                    copy.write_row(row)
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY session_read_cursors ({CURSOR_COLUMNS}) FROM STDIN") as copy,
            ):
                for row in cursor_rows(n, reader):
                    copy.write_row(row)
            conn.execute("ANALYZE session_summaries")
            conn.execute("ANALYZE session_read_cursors")
        return
    with db.transaction() as cur:
        marks = ", ".join("?" for _ in SUMMARY_COLUMNS.split(","))
        cur.executemany(
            f"INSERT INTO session_summaries ({SUMMARY_COLUMNS}) VALUES ({marks})", list(summary_rows(n))
        )
        marks = ", ".join("?" for _ in CURSOR_COLUMNS.split(","))
        cur.executemany(
            f"INSERT INTO session_read_cursors ({CURSOR_COLUMNS}) VALUES ({marks})",
            list(cursor_rows(n, reader)),
        )
        cur.execute("ANALYZE")
