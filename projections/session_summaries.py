"""Session summaries and per-reader read cursors, folded from Session, Run and Command events.

A session's `version` is the log position of its last version-raising event (its creation, a
turn or steer created, a turn finished, a run finished or cancelled), so versions of all
sessions are comparable and `changedSince` is a cursor over the whole log.
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.timestamps import iso, micros
from projections.base import Projection, ViewCursor, handles

TITLE_LENGTH = 120
RUN_CACHE_SIZE = 100_000


def fold_title(prompt: Any) -> str | None:
    if not isinstance(prompt, str) or not prompt.strip():
        return None
    return " ".join(prompt.split())[:TITLE_LENGTH]


class SessionSummaries(Projection):
    name = "session_summaries"
    tables = {
        "session_summaries": (
            "session_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, project_id TEXT NOT NULL, "
            "backend_profile TEXT NOT NULL, conversation_id TEXT, thread_id TEXT, "
            "metadata TEXT NOT NULL, version BIGINT NOT NULL, execution_state TEXT NOT NULL, "
            "last_run_id TEXT, last_command_id TEXT, active_run_id TEXT, active_command_id TEXT, "
            "last_event_seq BIGINT NOT NULL, terminal_status TEXT, failure_kind TEXT, title TEXT, "
            "last_activity_at TEXT NOT NULL, activity_us BIGINT NOT NULL, created_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, expires_at TEXT"
        ),
        "session_read_cursors": (
            "session_id TEXT NOT NULL, reader_id TEXT NOT NULL, session_version BIGINT NOT NULL, "
            "read_at TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (session_id, reader_id)"
        ),
        "session_runs": "run_id TEXT PRIMARY KEY, session_id TEXT NOT NULL",
        "session_commands": (
            "command_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, run_id TEXT NOT NULL, type TEXT NOT NULL"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS session_summaries_version ON session_summaries (version)",
        "CREATE INDEX IF NOT EXISTS session_summaries_tenant ON session_summaries (tenant_id)",
    )

    def __init__(self) -> None:
        self._run_sessions: dict[str, str | None] = {}

    # -- sessions ---------------------------------------------------------------------

    @handles("Session.Created")
    def _created(self, cur: ViewCursor, e: Any, position: int) -> None:
        at = iso(e.timestamp)
        cur.execute(
            "INSERT INTO session_summaries (session_id, tenant_id, project_id, backend_profile, "
            "conversation_id, thread_id, metadata, version, execution_state, last_run_id, "
            "last_event_seq, last_activity_at, activity_us, created_at, updated_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'idle', ?, 0, ?, ?, ?, ?, ?)",
            (
                e.session_id,
                e.tenant_id,
                e.project_id,
                e.backend_profile,
                e.conversation_id,
                e.thread_id,
                orjson.dumps(e.metadata).decode(),
                position,
                e.run_id,
                at,
                micros(e.timestamp),
                at,
                at,
                e.expires_at,
            ),
        )

    @handles("Session.VersionBumped")
    def _version_bumped(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._touch(cur, _session_id(e), e.timestamp, {"version": position})

    @handles("Session.ThreadUpdated")
    def _thread_updated(self, cur: ViewCursor, e: Any, position: int) -> None:
        session_id = _session_id(e)
        row = cur.execute(
            "SELECT metadata FROM session_summaries WHERE session_id = ?", (session_id,)
        ).fetchone()
        if row is None:
            return
        metadata = orjson.loads(row["metadata"])
        if e.turn_id:
            metadata["lastTurnId"] = e.turn_id
        changes = {"thread_id": e.thread_id, "metadata": orjson.dumps(metadata).decode()}
        self._touch(cur, session_id, e.timestamp, changes)

    @handles("Session.ReadMarked")
    def _read_marked(self, cur: ViewCursor, e: Any, position: int) -> None:
        session_id = _session_id(e)
        row = cur.execute(
            "SELECT version FROM session_summaries WHERE session_id = ?", (session_id,)
        ).fetchone()
        if row is None:
            return
        cur.execute(
            "INSERT INTO session_read_cursors (session_id, reader_id, session_version, read_at, "
            "position) VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id, reader_id) DO UPDATE SET "
            "session_version = excluded.session_version, read_at = excluded.read_at, "
            "position = excluded.position",
            (session_id, e.reader_id, row["version"], iso(e.timestamp), position),
        )

    # -- runs -------------------------------------------------------------------------

    @handles("Run.Created")
    def _run_created(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._remember_run(e.originator_id, e.session_ref["sessionId"] if e.session_ref else None)
        if not e.session_ref:
            return
        session_id = e.session_ref["sessionId"]
        cur.execute(
            "INSERT INTO session_runs (run_id, session_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (e.originator_id, session_id),
        )
        self._touch(cur, session_id, e.timestamp, {"last_run_id": e.originator_id})

    @handles("Run.Claimed")
    def _run_claimed(self, cur: ViewCursor, e: Any, position: int) -> None:
        changes = {
            "execution_state": "running",
            "active_run_id": e.originator_id,
            "last_run_id": e.originator_id,
        }
        self._touch_run(cur, e.originator_id, e.timestamp, changes)

    @handles("Run.EventAppended")
    def _run_event_appended(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._touch_run(cur, e.originator_id, e.timestamp, {"last_event_seq": e.seq})

    @handles("Run.Finished")
    def _run_finished(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._run_ended(cur, e.originator_id, e.timestamp, e.terminal_status, e.failure_kind)

    @handles("Run.Cancelled")
    def _run_cancelled(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._run_ended(cur, e.originator_id, e.timestamp, "cancelled", "cancelled")

    def _run_ended(self, cur: ViewCursor, run_id: str, at: Any, status: str | None, kind: str | None) -> None:
        row = cur.execute(
            "SELECT s.session_id, s.active_run_id FROM session_runs r "
            "JOIN session_summaries s ON s.session_id = r.session_id WHERE r.run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            return
        # Another run of the session still running keeps the session active.
        still_active = row["active_run_id"] not in (None, run_id)
        changes = {} if still_active else _terminal(run_id, status, kind)
        self._touch(cur, row["session_id"], at, changes)

    # -- commands ---------------------------------------------------------------------

    @handles("Command.Created")
    def _command_created(self, cur: ViewCursor, e: Any, position: int) -> None:
        if not e.session_id:
            return
        cur.execute(
            "INSERT INTO session_commands (command_id, session_id, run_id, type) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (e.originator_id, e.session_id, e.run_id, e.type),
        )
        if e.type not in ("turn", "steer"):
            self._touch(cur, e.session_id, e.timestamp, {})
            return
        changes: dict[str, Any] = {"last_run_id": e.run_id, "last_command_id": e.originator_id}
        if e.type == "turn":
            # Only a turn (or a claim) makes a session run; a steer adjusts one already running.
            changes.update(
                execution_state="running",
                active_run_id=e.run_id,
                active_command_id=e.originator_id,
                terminal_status=None,
                failure_kind=None,
            )
            title = fold_title(e.payload.get("prompt"))
            if title is not None:
                row = cur.execute(
                    "SELECT title FROM session_summaries WHERE session_id = ?", (e.session_id,)
                ).fetchone()
                if row is not None and row["title"] is None:
                    changes["title"] = title
        self._touch(cur, e.session_id, e.timestamp, changes)

    @handles("Command.Finished", "Command.Cancelled")
    def _command_finished(self, cur: ViewCursor, e: Any, position: int) -> None:
        row = cur.execute(
            "SELECT session_id, run_id, type FROM session_commands WHERE command_id = ?",
            (e.originator_id,),
        ).fetchone()
        if row is None or row["type"] != "turn":
            return
        status = getattr(e, "terminal_status", "cancelled")
        kind = getattr(e, "failure_kind", "cancelled")
        active = cur.execute(
            "SELECT active_run_id, active_command_id FROM session_summaries WHERE session_id = ?",
            (row["session_id"],),
        ).fetchone()
        changes: dict[str, Any]
        if active is not None and active["active_command_id"] not in (None, e.originator_id):
            changes = {}  # a later turn is still in progress
        elif active is not None and active["active_run_id"] not in (None, row["run_id"]):
            changes = {"active_command_id": None}  # another run of the session is still running
        else:
            changes = _terminal(row["run_id"], status, kind)
        changes["last_command_id"] = e.originator_id
        self._touch(cur, row["session_id"], e.timestamp, changes)

    # -- helpers ----------------------------------------------------------------------

    def _touch_run(self, cur: ViewCursor, run_id: str, at: Any, changes: dict[str, Any]) -> None:
        session_id = self._session_of_run(cur, run_id)
        if session_id is not None:
            self._touch(cur, session_id, at, changes)

    def _session_of_run(self, cur: ViewCursor, run_id: str) -> str | None:
        """The session a run belongs to; a run's session never changes, so it is cached."""
        if run_id not in self._run_sessions:
            row = cur.execute("SELECT session_id FROM session_runs WHERE run_id = ?", (run_id,)).fetchone()
            self._remember_run(run_id, row["session_id"] if row else None)
        return self._run_sessions[run_id]

    def _remember_run(self, run_id: str, session_id: str | None) -> None:
        if len(self._run_sessions) >= RUN_CACHE_SIZE:
            self._run_sessions.clear()
        self._run_sessions[run_id] = session_id

    def _touch(self, cur: ViewCursor, session_id: str, at: Any, changes: dict[str, Any]) -> None:
        """Apply column changes and record activity at `at`."""
        changes = {
            **changes,
            "last_activity_at": iso(at),
            "activity_us": micros(at),
            "updated_at": iso(at),
        }
        assignments = ", ".join(f"{column} = ?" for column in changes)
        cur.execute(
            f"UPDATE session_summaries SET {assignments} WHERE session_id = ?",
            (*changes.values(), session_id),
        )


def _session_id(event: Any) -> str:
    return str(event.originator_id).removeprefix("session:")


def _terminal(run_id: str, terminal_status: str | None, failure_kind: str | None) -> dict[str, Any]:
    return {
        "execution_state": "terminal",
        "active_run_id": None,
        "active_command_id": None,
        "last_run_id": run_id,
        "terminal_status": terminal_status,
        "failure_kind": failure_kind,
    }
