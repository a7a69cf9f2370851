"""Reads of the session summaries: one summary, the attention-sorted list, and changes since."""

from __future__ import annotations

from typing import Any

import orjson

from projections.base import ViewCursor

LIST_STATES = ("default", "running", "unread", "terminal", "idle", "all")

_ACTIVE = "(s.execution_state = 'running' OR s.active_run_id IS NOT NULL OR s.active_command_id IS NOT NULL)"
_STATE_FILTERS = {
    "default": "(active_rank = 0 OR unread_rank = 0)",
    "running": "active_rank = 0",
    "unread": "unread_rank = 0",
    "terminal": "execution_state = 'terminal'",
    "idle": "execution_state = 'idle'",
    "all": "1 = 1",
}


def _base_query(tenants: list[str] | None, backend_profile: str | None) -> tuple[str, list[Any]]:
    where = ["1 = 1"]
    params: list[Any] = []
    if tenants is not None:
        where.append(f"s.tenant_id IN ({', '.join('?' for _ in tenants) or 'NULL'})")
        params.extend(tenants)
    if backend_profile is not None:
        where.append("s.backend_profile = ?")
        params.append(backend_profile)
    sql = (
        "SELECT s.*, c.session_version AS cursor_version, c.read_at AS cursor_read_at, "
        f"CASE WHEN {_ACTIVE} THEN 0 ELSE 1 END AS active_rank, "
        f"CASE WHEN NOT {_ACTIVE} AND (c.session_version IS NULL OR c.session_version < s.version) "
        "THEN 0 ELSE 1 END AS unread_rank, "
        "-s.activity_us AS neg_activity "
        "FROM session_summaries s LEFT JOIN session_read_cursors c "
        "ON c.session_id = s.session_id AND c.reader_id = ? "
        f"WHERE {' AND '.join(where)}"
    )
    return sql, params


def get_summary(cur: ViewCursor, session_id: str, reader_id: str | None) -> dict[str, Any] | None:
    sql, params = _base_query(None, None)
    row = cur.execute(
        f"SELECT * FROM ({sql} AND s.session_id = ?) q", (reader_id, *params, session_id)
    ).fetchone()
    return None if row is None else to_summary(row, reader_id)


ATTENTION_ORDER = ("active_rank", "unread_rank", "neg_activity", "session_id")
CHANGE_ORDER = ("version", "session_id")


def list_sessions(
    cur: ViewCursor,
    *,
    tenants: list[str] | None,
    state: str,
    backend_profile: str | None,
    reader_id: str | None,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page in attention order: active, then unread, then latest activity, then id."""
    sql, params = _base_query(tenants, backend_profile)
    query = f"SELECT * FROM ({sql}) q WHERE {_STATE_FILTERS[state]}"
    return _keyset_page(cur, query, [reader_id, *params], ATTENTION_ORDER, reader_id, limit, after)


def list_changed(
    cur: ViewCursor,
    *,
    tenants: list[str] | None,
    since: int,
    state: str,
    backend_profile: str | None,
    reader_id: str | None,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """Sessions whose version is above `since`, by version ascending."""
    sql, params = _base_query(tenants, backend_profile)
    query = f"SELECT * FROM ({sql}) q WHERE {_STATE_FILTERS[state]} AND version > ?"
    return _keyset_page(cur, query, [reader_id, *params, since], CHANGE_ORDER, reader_id, limit, after)


def _keyset_page(
    cur: ViewCursor,
    query: str,
    args: list[Any],
    order: tuple[str, ...],
    reader_id: str | None,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """One page ordered by `order`, after the key `after`; returns the key of its last row
    when more rows follow."""
    columns = ", ".join(order)
    if after is not None:
        query += f" AND ({columns}) > ({', '.join('?' for _ in order)})"
        args = [*args, *after]
    rows = cur.execute(f"{query} ORDER BY {columns} LIMIT ?", (*args, limit + 1)).fetchall()
    page = rows[:limit]
    next_key = [page[-1][column] for column in order] if len(rows) > limit else None
    return [to_summary(row, reader_id) for row in page], next_key


def session_run_ids(cur: ViewCursor, session_id: str) -> list[str]:
    rows = cur.execute(
        "SELECT run_id FROM session_runs WHERE session_id = ? ORDER BY run_id", (session_id,)
    ).fetchall()
    return [row["run_id"] for row in rows]


def to_summary(row: dict[str, Any], reader_id: str | None) -> dict[str, Any]:
    active = row["active_rank"] == 0
    unread = row["unread_rank"] == 0
    read_cursor = None
    if row.get("cursor_version") is not None:
        read_cursor = {
            "sessionId": row["session_id"],
            "readerId": reader_id,
            "sessionVersion": row["cursor_version"],
            "readAt": row["cursor_read_at"],
        }
    return {
        "sessionId": row["session_id"],
        "tenantId": row["tenant_id"],
        "projectId": row["project_id"],
        "backendProfile": row["backend_profile"],
        "conversationId": row["conversation_id"],
        "threadId": row["thread_id"],
        "metadata": orjson.loads(row["metadata"]),
        "version": row["version"],
        "executionState": row["execution_state"],
        "lastRunId": row["last_run_id"],
        "lastCommandId": row["last_command_id"],
        "activeRunId": row["active_run_id"],
        "activeCommandId": row["active_command_id"],
        "lastEventSeq": row["last_event_seq"],
        "terminalStatus": row["terminal_status"],
        "failureKind": row["failure_kind"],
        "title": row["title"],
        "lastActivityAt": row["last_activity_at"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "expiresAt": row["expires_at"],
        "sessionPath": f"{row['tenant_id']}/{row['project_id']}/{row['session_id']}",
        "readerId": reader_id,
        "readCursor": read_cursor,
        "attentionState": "active" if active else ("unread" if unread else "read"),
        "active": active,
        "unread": unread,
    }


def get_read_cursor(cur: ViewCursor, session_id: str, reader_id: str) -> dict[str, Any] | None:
    return cur.execute(
        "SELECT session_id, reader_id, session_version, read_at, position "
        "FROM session_read_cursors WHERE session_id = ? AND reader_id = ?",
        (session_id, reader_id),
    ).fetchone()
