"""View checks for tests: dump views, rebuild them from the log, count applications, outages."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict

from application.access import SYSTEM
from application.errors import ReadTimeoutError
from domain.errors import AgentRunError, ConcurrencyError
from domain.outcome import Outcome
from infrastructure import view_diff
from infrastructure.database import Database, SqliteDatabase
from infrastructure.event_log import EventLog
from infrastructure.projection_runner import ProjectionRunner, create_tables
from infrastructure.projection_state import states
from infrastructure.signals import Signal
from infrastructure.view_diff import primary_key  # noqa: F401 - re-exported for tests
from projections.base import Projection, ViewCursor
from tests.support.postgres import ADMIN_URL

T = TypeVar("T")
Views = dict[str, list[dict[str, Any]]]


class AppliedLedger(Projection):
    """A test projection recording how many times each log position was applied (must be once)."""

    name = "test_applied_ledger"
    tables = {
        "test_applied_ledger": (
            "position BIGINT PRIMARY KEY, applied BIGINT NOT NULL, originator_id TEXT NOT NULL, "
            "originator_version BIGINT NOT NULL"
        )
    }

    def apply(self, cur: ViewCursor, event: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO test_applied_ledger (position, applied, originator_id, "
            "originator_version) VALUES (?, 1, ?, ?) ON CONFLICT (position) DO UPDATE "
            "SET applied = test_applied_ledger.applied + 1",
            (position, str(event.originator_id), event.originator_version),
        )


def dump_views(db: Database, projections: Sequence[Projection]) -> Views:
    """Every row of every view table, sorted by primary key."""
    with db.read() as cur:
        return view_diff.dump_views(cur, projections)


def positions(db: Database, projections: Sequence[Projection]) -> dict[str, int]:
    names = {p.name for p in projections}
    return {name: state.position for name, state in states(db).items() if name in names}


def rebuild_views(log: EventLog, projections: Sequence[Projection]) -> Views:
    """Fold the whole log from scratch into a fresh in-memory database and dump its views."""
    fresh = [type(p)() for p in projections]
    db = SqliteDatabase(Path(":memory:"))
    try:
        create_tables(db, fresh)
        runner = ProjectionRunner(
            log, db, fresh, events_signal=Signal(), advanced_signal=Signal(), batch_size=1000
        )
        runner.catch_up()
        assert set(positions(db, fresh).values()) == {log.head()}
        return dump_views(db, fresh)
    finally:
        db.close()


def assert_views_match_rebuild(log: EventLog, db: Database, projections: Sequence[Projection]) -> Views:
    """The live views, at the head of the log, equal a rebuild from scratch; returns them."""
    head = log.head()
    assert positions(db, projections) == {p.name: head for p in projections}
    live = dump_views(db, projections)
    rebuilt = rebuild_views(log, projections)
    for table in rebuilt:
        assert len(live[table]) == len(rebuilt[table]), table
        for live_row, rebuilt_row in zip(live[table], rebuilt[table], strict=True):
            assert live_row == rebuilt_row, table
    return live


def log_positions(log: EventLog) -> list[int]:
    """Every position in the log, in order."""
    found: list[int] = []
    while True:
        batch = log.notifications(after=found[-1] if found else 0, limit=1000)
        if not batch:
            return found
        found.extend(n.id for n in batch)


def assert_each_event_applied_once(log: EventLog, db: Database) -> None:
    """The ledger holds every position of the log exactly once, each applied exactly once."""
    rows = db.fetchall("SELECT position, applied FROM test_applied_ledger ORDER BY position")
    assert [row["position"] for row in rows] == log_positions(log)
    twice = [row for row in rows if row["applied"] != 1]
    assert not twice, f"events applied more than once: {twice[:5]}"


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def retrying(action: Callable[[], T], failures: list[BaseException], timeout: float = 30.0) -> T:
    """Run an action until it stops failing with a transient error (an outage, a read timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except (ReadTimeoutError, ConcurrencyError) as error:
            failures.append(error)
        except AgentRunError:
            raise
        except Exception as error:  # noqa: BLE001 - whatever the database raised while it was away
            failures.append(error)
        if time.monotonic() > deadline:
            return action()
        time.sleep(0.05)


def session_activity(
    container: Any, tag: str, events: int = 6, transient_errors: list[BaseException] | None = None
) -> str:
    """One session's life: a run with a session, a turn, a claim, events, a read mark, finishes.

    Returns the run id. Given a `transient_errors` list, each step is retried through an outage
    and each failure is recorded there (a step that committed but reported a failure may be
    repeated: the views must still match the log).
    """

    def step(action: Callable[[], T]) -> T:
        return action() if transient_errors is None else retrying(action, transient_errors)

    session_id = f"sess-{tag}"
    run = step(
        lambda: container.runs.create(
            SYSTEM,
            tenant_id="tenant-a",
            project_id="proj",
            backend_profile="codex",
            session_ref={"sessionId": session_id, "metadata": {"tag": tag}},
            resource_bundle_ref=None,
        )
    )
    run_id = run["id"]
    command, _ = step(
        lambda: container.commands.create(
            SYSTEM,
            run_id,
            command_type="turn",
            payload={"prompt": f"  do   the {tag} thing  "},
            idempotency_key=f"turn-{tag}",
        )
    )
    epoch = step(lambda: container.runs.claim(SYSTEM, run_id, f"runner-{tag}", 60_000))["claimEpoch"]
    step(lambda: container.commands.acknowledge(SYSTEM, command["id"]))
    for start in range(0, events, 3):
        batch = [
            {"type": "assistant_message", "payload": {"n": n}, "claimEpoch": epoch}
            for n in range(start, min(start + 3, events))
        ]
        step(lambda batch=batch: container.run_events.append(SYSTEM, run_id, batch))
    step(
        lambda: container.commands.create(
            SYSTEM,
            run_id,
            command_type="steer",
            payload={"text": "more"},
            idempotency_key=f"steer-{tag}",
        )
    )
    step(
        lambda: container.commands.finish(
            SYSTEM,
            command["id"],
            Outcome("completed", thread_id=f"thread-{tag}", turn_id="turn-1"),
        )
    )
    # mark_read waits for the views (through an outage, that wait may time out and be retried).
    step(lambda: container.sessions.mark_read(SYSTEM, session_id, "reader-1"))
    step(
        lambda: container.runs.finish(
            SYSTEM,
            run_id,
            Outcome("completed"),
            claim_epoch=epoch,
        )
    )
    return str(run_id)


def assert_sessions_match_runs(container: Any, run_ids: Sequence[str]) -> None:
    """Each run's session saw exactly that run's events: lastEventSeq is the run's last seq."""
    rows = container.db.fetchall("SELECT session_id, last_event_seq FROM session_summaries")
    last_seq = {row["session_id"]: row["last_event_seq"] for row in rows}
    for run_id in run_ids:
        run = container.log.get(run_id)
        assert last_seq[run.session_id] == run.last_seq, run_id


# -- PostgreSQL outages -------------------------------------------------------------------


def _admin(sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def kill_all_connections(url: str) -> int:
    """Terminate every connection to the database of `url` (as a server restart would)."""
    dbname = conninfo_to_dict(url)["dbname"]
    rows = _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    )
    return len(rows)


def allow_connections(url: str, allowed: bool) -> None:
    """Open or close the database to new connections (closed: every connect attempt fails)."""
    dbname = conninfo_to_dict(url)["dbname"]
    _admin(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')


def connections_of(url: str, application_name: str) -> int:
    dbname = conninfo_to_dict(url)["dbname"]
    rows = _admin(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
        (dbname, application_name),
    )
    return int(rows[0][0])


def advisory_lock_holders(url: str) -> list[int]:
    """Backend pids holding a granted advisory lock in the database of `url`."""
    dbname = conninfo_to_dict(url)["dbname"]
    rows = _admin(
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = %s",
        (dbname,),
    )
    return [int(row[0]) for row in rows]


def terminate_pid(pid: int) -> None:
    _admin("SELECT pg_terminate_backend(%s)", (pid,))


def container_with_ledger(settings: Any) -> Any:
    """A Container (not started) whose projections include the AppliedLedger."""
    from interfaces import bootstrap

    original = bootstrap.all_projections
    bootstrap.all_projections = lambda: [*original(), AppliedLedger()]  # type: ignore[assignment]
    try:
        return bootstrap.Container(settings)
    finally:
        bootstrap.all_projections = original  # type: ignore[assignment]
