"""Reads of the session summaries: one summary, the attention-sorted list, and changes since."""

from __future__ import annotations

from typing import Any

import orjson

from projections import session_titles
from projections.base import ViewCursor, in_tenants
from projections.cursors import cut_page, keyset_after

LIST_STATES = ("default", "running", "unread", "terminal", "idle", "all")
EXECUTION_STATES = ("idle", "running", "terminal")

# A list is the union of attention segments, (active_rank, unread_rank), in this order: active,
# unread, read (ADR 0036). Each is a few index ranges merged under one ORDER BY ... LIMIT.
_ACTIVE, _UNREAD, _READ = (0, 1), (1, 0), (1, 1)
_SEGMENTS = {
    "default": (_ACTIVE, _UNREAD),
    "running": (_ACTIVE,),
    "unread": (_UNREAD,),
    "terminal": (_ACTIVE, _UNREAD, _READ),
    "idle": (_ACTIVE, _UNREAD, _READ),
    "all": (_ACTIVE, _UNREAD, _READ),
}
_STATE_FILTERS = {
    "default": "(q.active_rank = 0 OR q.unread_rank = 0)",
    "running": "q.active_rank = 0",
    "unread": "q.unread_rank = 0",
    "terminal": "q.execution_state = 'terminal'",
    "idle": "q.execution_state = 'idle'",
    "all": "1 = 1",
}
_UNREAD_RANK = (
    "CASE WHEN s.active_rank = 1 AND (c.session_version IS NULL OR c.session_version < s.version) "
    "THEN 0 ELSE 1 END"
)
_SUMMARY = (
    "SELECT s.*, c.session_version AS cursor_version, c.read_at AS cursor_read_at, "
    f"{_UNREAD_RANK} AS unread_rank FROM session_summaries s LEFT JOIN session_read_cursors c "
    "ON c.session_id = s.session_id AND c.reader_id = ?"
)


def get_summary(cur: ViewCursor, session_id: str, reader_id: str | None) -> dict[str, Any] | None:
    row = cur.execute(f"{_SUMMARY} WHERE s.session_id = ?", (reader_id, session_id)).fetchone()
    return None if row is None else to_summary(row, reader_id)


ATTENTION_ORDER = ("active_rank", "unread_rank", "neg_activity", "session_id")
CHANGE_ORDER = ("version", "session_id")
ATTENTION_SHAPE = (int, int, int, str)
CHANGE_SHAPE = (int, str)


def list_sessions(
    cur: ViewCursor,
    *,
    tenants: list[str] | None,
    state: str,
    backend_profile: str | None,
    reader_id: str | None,
    limit: int,
    after: list[Any] | None,
    search: list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page in attention order: active, then unread, then latest activity, then id.

    `search`: title words each session must have a word starting with (`session_titles`).
    """
    driven = session_titles.driving(cur, search) if search else None
    if driven:
        return _list_matches(cur, tenants, state, backend_profile, reader_id, limit, after, driven)
    ranges: list[str] = []
    args: list[Any] = []
    for segment in _SEGMENTS[state]:
        if after is not None and segment < (after[0], after[1]):
            continue  # the cursor is past this segment
        if segment == _READ and reader_id is None:
            continue  # without a reader nothing is read
        keyset = after[2:] if after is not None and segment == (after[0], after[1]) else None
        for tenant in [None] if tenants is None else tenants:
            for execution_state in _execution_states(state):
                sql, params = _range(
                    segment, tenant, backend_profile, execution_state, reader_id, keyset, search
                )
                ranges.append(f"SELECT * FROM ({sql} LIMIT ?) r{len(ranges)}")
                args += [*params, limit + 1]
    if not ranges:
        return [], None
    # The page is cut from the merged ranges first, so its rows are then fetched by primary key.
    order = "q.active_rank, q.unread_rank, q.neg_activity, q.session_id"
    rows = cur.execute(
        "SELECT s.*, q.unread_rank, c.session_version AS cursor_version, c.read_at AS cursor_read_at "
        f"FROM (SELECT * FROM ({' UNION ALL '.join(ranges)}) q ORDER BY {order} LIMIT ?) q "
        "JOIN session_summaries s ON s.session_id = q.session_id "
        "LEFT JOIN session_read_cursors c ON c.session_id = q.session_id AND c.reader_id = ? "
        f"ORDER BY {order}",
        (*args, limit + 1, reader_id),
    ).fetchall()
    page, next_key = cut_page(rows, limit, ATTENTION_ORDER)
    return [to_summary(row, reader_id) for row in page], next_key


def _list_matches(
    cur: ViewCursor,
    tenants: list[str] | None,
    state: str,
    backend_profile: str | None,
    reader_id: str | None,
    limit: int,
    after: list[Any] | None,
    search: list[str],
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page of the few sessions whose title has the rarest term: read them all, then sort."""
    matches, params = session_titles.driven(search[0])
    tenant_condition, tenant_params = in_tenants(tenants, "s.tenant_id")
    where = [f"s.session_id IN ({matches})", tenant_condition]
    params = [reader_id, *params, *tenant_params]
    if backend_profile is not None:
        where.append("s.backend_profile = ?")
        params.append(backend_profile)
    words, word_params = session_titles.having_words("s.session_id", search[1:])
    where += words
    params += word_params
    outer = [_STATE_FILTERS[state]]
    if after is not None:
        outer.append(keyset_after(tuple(f"q.{c}" for c in ATTENTION_ORDER)))
        params += after
    order = ", ".join(ATTENTION_ORDER)
    rows = cur.execute(
        f"SELECT * FROM ({_SUMMARY} WHERE {' AND '.join(where)}) q WHERE {' AND '.join(outer)} "
        f"ORDER BY {order} LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    page, next_key = cut_page(rows, limit, ATTENTION_ORDER)
    return [to_summary(row, reader_id) for row in page], next_key


def _execution_states(state: str) -> tuple[str, ...]:
    return (state,) if state in ("terminal", "idle") else EXECUTION_STATES


def _range(
    segment: tuple[int, int],
    tenant: str | None,
    backend_profile: str | None,
    execution_state: str,
    reader_id: str | None,
    keyset: list[Any] | None,
    search: list[str] | None = None,
) -> tuple[str, list[Any]]:
    """One index range of a segment: equalities on an index's prefix, then the keyset."""
    table = "session_read_cursors" if segment == _READ else "session_summaries"
    where: list[str] = []
    params: list[Any] = []
    if segment == _READ:
        where += ["t.reader_id = ?", "t.is_read = 1"]
        params.append(reader_id)
    else:
        where.append(f"t.active_rank = {segment[0]}")
    if tenant is not None:
        where.append("t.tenant_id = ?")
        params.append(tenant)
    if backend_profile is not None:
        where.append("t.backend_profile = ?")
        params.append(backend_profile)
    where.append("t.execution_state = ?")
    params.append(execution_state)
    if keyset is not None:
        where.append(keyset_after(("t.neg_activity", "t.session_id")))
        params += keyset
    if segment == _UNREAD and reader_id is not None:
        # Unread: no cursor of the reader at the session's version (one primary-key probe a row).
        where.append(
            "NOT EXISTS (SELECT 1 FROM session_read_cursors c WHERE c.session_id = t.session_id "
            "AND c.reader_id = ? AND c.session_version >= t.version)"
        )
        params.append(reader_id)
    if search:  # dense matches (see session_titles): the range is walked until its page is found
        words, word_params = session_titles.having_words("t.session_id", search)
        where += words
        params += word_params
    sql = (
        f"SELECT t.session_id, {segment[0]} AS active_rank, {segment[1]} AS unread_rank, t.neg_activity "
        f"FROM {table} t WHERE {' AND '.join(where)} ORDER BY t.neg_activity, t.session_id"
    )
    return sql, params


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
    search: list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """Sessions whose version is above `since`, by version ascending (the version index's range)."""
    tenant_condition, tenant_params = in_tenants(tenants, "s.tenant_id")
    where = ["s.version > ?", tenant_condition]
    params: list[Any] = [reader_id, since, *tenant_params]
    words, word_params = session_titles.having_words("s.session_id", search or [])
    where += words
    params += word_params
    if backend_profile is not None:
        where.append("s.backend_profile = ?")
        params.append(backend_profile)
    if after is not None:
        where.append(keyset_after(("s.version", "s.session_id")))
        params.extend(after)
    query = f"SELECT * FROM ({_SUMMARY} WHERE {' AND '.join(where)}) q WHERE {_STATE_FILTERS[state]}"
    rows = cur.execute(f"{query} ORDER BY version, session_id LIMIT ?", (*params, limit + 1)).fetchall()
    page, next_key = cut_page(rows, limit, CHANGE_ORDER)
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
