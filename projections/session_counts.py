"""Session counts per tab (running, unread, terminal, idle, all), kept as counters, never scanned.

The session summaries fold calls in here whenever a session's state, activity or version moves,
or a reader's cursor does: `session_counts` holds sessions per (tenant, profile, state, active),
and `session_read_counts` the sessions a reader has read (not active, cursor at the version) per
(reader, tenant, profile). A reader's unread count is its inactive sessions minus those read.
"""

from __future__ import annotations

from typing import Any

from projections.base import ViewCursor, in_tenants

TABLES = {
    "session_counts": (
        "tenant_id TEXT NOT NULL, backend_profile TEXT NOT NULL, execution_state TEXT NOT NULL, "
        "active INTEGER NOT NULL, n BIGINT NOT NULL, "
        "PRIMARY KEY (tenant_id, backend_profile, execution_state, active)"
    ),
    "session_read_counts": (
        "reader_id TEXT NOT NULL, tenant_id TEXT NOT NULL, backend_profile TEXT NOT NULL, "
        "n BIGINT NOT NULL, PRIMARY KEY (reader_id, tenant_id, backend_profile)"
    ),
}
# The columns that move a session between counters.
MOVING = frozenset({"execution_state", "active_run_id", "active_command_id", "version"})

_SNAPSHOT = (
    "SELECT tenant_id, backend_profile, execution_state, version, CASE WHEN execution_state = 'running' "
    "OR active_run_id IS NOT NULL OR active_command_id IS NOT NULL THEN 1 ELSE 0 END AS active "
    "FROM session_summaries WHERE session_id = ?"
)


def snapshot(cur: ViewCursor, session_id: str) -> dict[str, Any] | None:
    """What the counters know of a session: its bucket and version."""
    return cur.execute(_SNAPSHOT, (session_id,)).fetchone()


def created(cur: ViewCursor, session_id: str) -> None:
    now = snapshot(cur, session_id)
    if now is not None:
        _bump(cur, now, 1)


def moved(cur: ViewCursor, session_id: str, before: dict[str, Any] | None) -> None:
    """Move a session between counters after its row changed from `before`."""
    after = snapshot(cur, session_id)
    if before is None or after is None or before == after:
        return
    if (before["execution_state"], before["active"]) != (after["execution_state"], after["active"]):
        _bump(cur, before, -1)
        _bump(cur, after, 1)
    cursors = cur.execute(
        "SELECT reader_id, session_version FROM session_read_cursors WHERE session_id = ?", (session_id,)
    ).fetchall()
    for row in cursors:
        change = _is_read(after, row["session_version"]) - _is_read(before, row["session_version"])
        if change:
            _bump_read(cur, row["reader_id"], after, change)


def read_moved(cur: ViewCursor, session_id: str, reader_id: str, old_version: int | None) -> None:
    """Count a reader's cursor move on a session (its new version is the session's)."""
    now = snapshot(cur, session_id)
    if now is None:
        return
    change = _is_read(now, now["version"]) - (0 if old_version is None else _is_read(now, old_version))
    if change:
        _bump_read(cur, reader_id, now, change)


def _is_read(session: dict[str, Any], cursor_version: int) -> int:
    return int(not session["active"] and cursor_version >= session["version"])


def _bump(cur: ViewCursor, s: dict[str, Any], by: int) -> None:
    cur.execute(
        "INSERT INTO session_counts (tenant_id, backend_profile, execution_state, active, n) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, backend_profile, execution_state, active) "
        "DO UPDATE SET n = session_counts.n + excluded.n",
        (s["tenant_id"], s["backend_profile"], s["execution_state"], s["active"], by),
    )


def _bump_read(cur: ViewCursor, reader_id: str, s: dict[str, Any], by: int) -> None:
    cur.execute(
        "INSERT INTO session_read_counts (reader_id, tenant_id, backend_profile, n) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (reader_id, tenant_id, backend_profile) "
        "DO UPDATE SET n = session_read_counts.n + excluded.n",
        (reader_id, s["tenant_id"], s["backend_profile"], by),
    )


def counts(
    cur: ViewCursor, *, tenants: list[str] | None, backend_profile: str | None, reader_id: str | None
) -> dict[str, int]:
    """The tab counts for a principal's tenants (and a profile), read from the counters."""
    tenant_condition, params = in_tenants(tenants)
    where = [tenant_condition]
    if backend_profile is not None:
        where.append("backend_profile = ?")
        params.append(backend_profile)
    condition = " AND ".join(where)
    rows = cur.execute(
        f"SELECT execution_state, active, SUM(n) AS n FROM session_counts WHERE {condition} "
        "GROUP BY execution_state, active",
        params,
    ).fetchall()
    read = cur.execute(
        f"SELECT COALESCE(SUM(n), 0) AS n FROM session_read_counts WHERE reader_id = ? AND {condition}",
        (reader_id, *params),
    ).fetchone()
    result = {"running": 0, "terminal": 0, "idle": 0, "all": 0}
    inactive = 0
    for row in rows:
        n = int(row["n"])
        result["all"] += n
        if row["active"]:
            result["running"] += n
        else:
            inactive += n
        if row["execution_state"] in ("terminal", "idle"):
            result[row["execution_state"]] += n
    result["unread"] = inactive - int(read["n"] if read else 0)
    result["default"] = result["running"] + result["unread"]
    return result
