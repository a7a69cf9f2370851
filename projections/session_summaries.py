"""Session summaries and per-reader read cursors, folded from Session, Run and Command events.

A session's `version` is the log position of its last version-raising event (its creation, a
turn or steer created, a turn finished, a run finished or cancelled), so versions of all
sessions are comparable and `changedSince` is a cursor over the whole log. The session's open
work (claimed runs, unfinished turns) is kept in `session_open_work`: the session is `running`
while any is open and `terminal`, with the status of the last to close, only when none is. A
run's claim is open until the run ends or one of its turns finishes, as a finished turn is what
the session's reader waits for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from domain.run import Run
from domain.timestamps import iso, micros
from projections import session_attention as attention
from projections import session_counts, session_titles
from projections.base import Projection, ViewCursor, handles

TITLE_LENGTH = 120
# The read cursors copy the session's activity, the key of their reader's `read` segment.
_CURSORS_TOUCH = "UPDATE session_read_cursors SET neg_activity = ? WHERE session_id = ?"
_EVENT_TOUCH = (
    "UPDATE session_summaries SET last_event_seq = ?, last_activity_at = ?, activity_us = ?, "
    "neg_activity = ?, updated_at = ? WHERE session_id = ?"
)
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
            "updated_at TEXT NOT NULL, expires_at TEXT, active_rank INTEGER NOT NULL, "
            "neg_activity BIGINT NOT NULL"
        ),
        "session_read_cursors": (
            "session_id TEXT NOT NULL, reader_id TEXT NOT NULL, session_version BIGINT NOT NULL, "
            "read_at TEXT NOT NULL, position BIGINT NOT NULL, tenant_id TEXT NOT NULL, "
            "backend_profile TEXT NOT NULL, execution_state TEXT NOT NULL, "
            "neg_activity BIGINT NOT NULL, is_read INTEGER NOT NULL, PRIMARY KEY (session_id, reader_id)"
        ),
        "session_runs": "run_id TEXT PRIMARY KEY, session_id TEXT NOT NULL",
        "session_commands": (
            "command_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, run_id TEXT NOT NULL, type TEXT NOT NULL"
        ),
        # The session's open work: claimed runs and turns not yet finished (work_id is the run or
        # command id); opened_at is the log position that opened it, so the latest is found.
        "session_open_work": (
            "session_id TEXT NOT NULL, work_id TEXT NOT NULL, run_id TEXT NOT NULL, "
            "kind TEXT NOT NULL, opened_at BIGINT NOT NULL, PRIMARY KEY (session_id, work_id)"
        ),
        # Tab counts as counters (see projections/session_counts.py).
        **session_counts.TABLES,
        **session_titles.TABLES,
    }
    indexes = attention.INDEXES + session_titles.INDEXES

    def __init__(self) -> None:
        self._run_sessions: dict[str, str | None] = {}

    # -- sessions ---------------------------------------------------------------------

    @handles("Session.Created")
    def _created(self, cur: ViewCursor, e: Any, position: int) -> None:
        at, us = iso(e.timestamp), micros(e.timestamp)
        ids = (e.session_id, e.tenant_id, e.project_id, e.backend_profile, e.conversation_id, e.thread_id)
        cur.execute(
            "INSERT INTO session_summaries (session_id, tenant_id, project_id, backend_profile, "
            "conversation_id, thread_id, metadata, version, execution_state, last_run_id, "
            "last_event_seq, last_activity_at, activity_us, created_at, updated_at, expires_at, "
            "active_rank, neg_activity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'idle', ?, 0, ?, ?, ?, ?, ?, 1, ?)",
            (*ids, orjson.dumps(e.metadata).decode(), position, e.run_id, at, us, at, at, e.expires_at, -us),
        )
        session_counts.created(cur, e.session_id)

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
        old = cur.execute(
            "SELECT session_version FROM session_read_cursors WHERE session_id = ? AND reader_id = ?",
            (session_id, e.reader_id),
        ).fetchone()
        attention.mark_read(cur, session_id, e.reader_id, iso(e.timestamp), position)
        session_counts.read_moved(cur, session_id, e.reader_id, old["session_version"] if old else None)

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
        session_id = self._session_of_run(cur, e.originator_id)
        if session_id is None:
            return
        self._open(cur, session_id, e.originator_id, e.originator_id, "run", position)
        changes = {"execution_state": "running", "last_run_id": e.originator_id}
        self._touch(cur, session_id, e.timestamp, {**changes, **self._active(cur, session_id)})

    @handles("Run.EventAppended")
    def _run_event_appended(self, cur: ViewCursor, e: Any, position: int) -> None:
        # The most frequent event: `_touch` with {"last_event_seq": seq}, its statements spelled out.
        touch = self._event_touch(cur, e)
        if touch is not None:
            cur.execute(_CURSORS_TOUCH, touch[0])
            cur.execute(_EVENT_TOUCH, touch[1])

    def _event_touch(self, cur: ViewCursor, e: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
        session_id = self._session_of_run(cur, e.originator_id)
        if session_id is None:
            return None
        at, us = iso(e.timestamp), micros(e.timestamp)
        return (-us, session_id), (e.seq, at, us, -us, at, session_id)

    def apply_batch(self, cur: ViewCursor, events: Sequence[tuple[int, Any]]) -> None:
        # A run of consecutive run events sets each session's fields to its last one's values, so
        # only the last touch of each session in the run is written (what one by one leaves).
        touches: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        for position, event in events:
            if isinstance(event, Run.EventAppended):
                touch = self._event_touch(cur, event)
                if touch is not None:
                    touches[touch[0][1]] = touch
                continue
            self._write_touches(cur, touches)
            self.apply(cur, event, position)
        self._write_touches(cur, touches)

    @staticmethod
    def _write_touches(cur: ViewCursor, touches: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]]) -> None:
        if touches:
            cur.executemany(_CURSORS_TOUCH, [cursors for cursors, _ in touches.values()])
            cur.executemany(_EVENT_TOUCH, [summary for _, summary in touches.values()])
            touches.clear()

    @handles("Run.Finished")
    def _run_finished(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._run_ended(cur, e.originator_id, e.timestamp, e.terminal_status, e.failure_kind)

    @handles("Run.Cancelled")
    def _run_cancelled(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._run_ended(cur, e.originator_id, e.timestamp, "cancelled", "cancelled")

    def _run_ended(self, cur: ViewCursor, run_id: str, at: Any, status: str | None, kind: str | None) -> None:
        session_id = self._session_of_run(cur, run_id)
        if session_id is None:
            return
        # A run's end closes its claim and every turn of it still open: nothing more can run there.
        cur.execute("DELETE FROM session_open_work WHERE session_id = ? AND run_id = ?", (session_id, run_id))
        self._touch(cur, session_id, at, self._after_close(cur, session_id, run_id, status, kind))

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
            self._open(cur, e.session_id, e.originator_id, e.run_id, "turn", position)
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
                    session_titles.index(cur, e.session_id, title)
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
        session_id = row["session_id"]
        # A turn's end also settles its run's claim: between turns a claimed run is not running.
        closed = cur.execute(
            "DELETE FROM session_open_work WHERE session_id = ? AND (work_id = ? OR "
            "(work_id = ? AND kind = 'run'))",
            (session_id, e.originator_id, row["run_id"]),
        ).rowcount
        changes: dict[str, Any] = {"last_command_id": e.originator_id}
        if closed or not self._open_work(cur, session_id):
            # A turn its run's end already closed changes the state only if nothing else is open.
            changes.update(self._after_close(cur, session_id, row["run_id"], status, kind))
        self._touch(cur, session_id, e.timestamp, changes)

    # -- open work --------------------------------------------------------------------

    def _open(
        self, cur: ViewCursor, session_id: str, work_id: str, run_id: str, kind: str, position: int
    ) -> None:
        cur.execute(
            "INSERT INTO session_open_work (session_id, work_id, run_id, kind, opened_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id, work_id) "
            "DO UPDATE SET opened_at = excluded.opened_at",
            (session_id, work_id, run_id, kind, position),
        )

    def _open_work(self, cur: ViewCursor, session_id: str) -> list[dict[str, Any]]:
        """The session's open runs and turns, latest opened first."""
        return cur.execute(
            "SELECT work_id, run_id, kind FROM session_open_work WHERE session_id = ? "
            "ORDER BY opened_at DESC, work_id DESC",
            (session_id,),
        ).fetchall()

    def _active(self, cur: ViewCursor, session_id: str) -> dict[str, Any]:
        """The active pair: the run of the latest open work, and the latest open turn of that run."""
        open_work = self._open_work(cur, session_id)
        if not open_work:
            return {"active_run_id": None, "active_command_id": None}
        run_id = open_work[0]["run_id"]
        turns = [w["work_id"] for w in open_work if w["kind"] == "turn" and w["run_id"] == run_id]
        return {"active_run_id": run_id, "active_command_id": turns[0] if turns else None}

    def _after_close(
        self, cur: ViewCursor, session_id: str, run_id: str, status: str | None, kind: str | None
    ) -> dict[str, Any]:
        """The state once some work closed: still running while any is open, else terminal with
        the status of the work that closed last."""
        active = self._active(cur, session_id)
        if active["active_run_id"] is not None:
            return {"execution_state": "running", **active}
        return _terminal(run_id, status, kind)

    # -- helpers ----------------------------------------------------------------------

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
        """Apply column changes and record activity at `at`, keeping the list's keys (ADR 0036)."""
        us = micros(at)
        changes = {
            **changes,
            "last_activity_at": iso(at),
            "activity_us": us,
            "neg_activity": -us,
            "updated_at": iso(at),
        }
        if attention.STATE_COLUMNS.intersection(changes):
            attention.restate(cur, session_id, changes)
        else:
            cur.execute(_CURSORS_TOUCH, (-us, session_id))
        assignments = ", ".join(f"{column} = ?" for column in changes)
        before = session_counts.snapshot(cur, session_id) if session_counts.MOVING & changes.keys() else None
        cur.execute(
            f"UPDATE session_summaries SET {assignments} WHERE session_id = ?",
            (*changes.values(), session_id),
        )
        if before is not None:
            session_counts.moved(cur, session_id, before)


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
