"""The session list's sort keys and counters, kept by the session summaries fold (ADR 0036).

`session_summaries.active_rank` (0 active, 1 not) and `neg_activity` (minus the last activity in
microseconds) are the reader-independent part of the attention order, so every state of the list
is a few index ranges. Each read cursor row copies what its reader's `read` segment is ordered and
filtered by (tenant, profile, execution state, `neg_activity`) and `is_read`: the session is not
active and the cursor has seen its version. (Per-state counts are counters: session_counts.py.)
"""

from __future__ import annotations

from typing import Any

from projections.base import ViewCursor

_ORDER = "execution_state, neg_activity, session_id"
INDEXES = (
    "CREATE INDEX IF NOT EXISTS session_changes ON session_summaries (version, session_id)",
    f"CREATE INDEX IF NOT EXISTS session_list_all ON session_summaries (active_rank, {_ORDER})",
    f"CREATE INDEX IF NOT EXISTS session_list_tenant ON session_summaries (tenant_id, active_rank, {_ORDER})",
    "CREATE INDEX IF NOT EXISTS session_list_profile ON session_summaries "
    f"(backend_profile, active_rank, {_ORDER})",
    "CREATE INDEX IF NOT EXISTS session_list_tenant_profile ON session_summaries "
    f"(tenant_id, backend_profile, active_rank, {_ORDER})",
    f"CREATE INDEX IF NOT EXISTS session_read_list ON session_read_cursors (reader_id, {_ORDER}) "
    "WHERE is_read = 1",
    "CREATE INDEX IF NOT EXISTS session_read_list_tenant ON session_read_cursors "
    f"(reader_id, tenant_id, {_ORDER}) WHERE is_read = 1",
    "CREATE INDEX IF NOT EXISTS session_read_list_profile ON session_read_cursors "
    f"(reader_id, backend_profile, {_ORDER}) WHERE is_read = 1",
    "CREATE INDEX IF NOT EXISTS session_read_list_tenant_profile ON session_read_cursors "
    f"(reader_id, tenant_id, backend_profile, {_ORDER}) WHERE is_read = 1",
)

# The columns whose change can move a session between attention groups.
STATE_COLUMNS = frozenset({"execution_state", "active_run_id", "active_command_id", "version"})


def active_rank(execution_state: str, active_run_id: str | None, active_command_id: str | None) -> int:
    """0 when the session is active (running, or with an active run or command), else 1."""
    active = execution_state == "running" or active_run_id is not None or active_command_id is not None
    return 0 if active else 1


def restate(cur: ViewCursor, session_id: str, changes: dict[str, Any]) -> None:
    """Before `changes` (which touch STATE_COLUMNS) are written: add the new `active_rank` to them
    and bring the session's read cursors' copies up to date."""
    old = cur.execute(
        "SELECT tenant_id, backend_profile, execution_state, active_rank, active_run_id, "
        "active_command_id, version FROM session_summaries WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    if old is None:
        return
    new = {column: changes.get(column, old[column]) for column in STATE_COLUMNS}
    rank = active_rank(new["execution_state"], new["active_run_id"], new["active_command_id"])
    changes["active_rank"] = rank
    cur.execute(
        "UPDATE session_read_cursors SET execution_state = ?, neg_activity = ?, is_read = CASE "
        "WHEN ? = 1 AND session_version >= ? THEN 1 ELSE 0 END WHERE session_id = ?",
        (new["execution_state"], changes["neg_activity"], rank, new["version"], session_id),
    )


def mark_read(cur: ViewCursor, session_id: str, reader_id: str, read_at: str | None, position: int) -> None:
    """Record the reader's cursor at the session's current version, with the list's copies."""
    row = cur.execute(
        "SELECT tenant_id, backend_profile, execution_state, active_rank, neg_activity, version "
        "FROM session_summaries WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        return
    is_read = 1 if row["active_rank"] == 1 else 0
    cur.execute(
        "INSERT INTO session_read_cursors (session_id, reader_id, session_version, read_at, position, "
        "tenant_id, backend_profile, execution_state, neg_activity, is_read) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, reader_id) DO UPDATE SET "
        "session_version = excluded.session_version, read_at = excluded.read_at, "
        "position = excluded.position, execution_state = excluded.execution_state, "
        "neg_activity = excluded.neg_activity, is_read = excluded.is_read",
        (
            session_id,
            reader_id,
            row["version"],
            read_at,
            position,
            row["tenant_id"],
            row["backend_profile"],
            row["execution_state"],
            row["neg_activity"],
            is_read,
        ),
    )
