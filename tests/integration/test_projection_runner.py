"""The projection runner: views equal a rebuild, exactly once with two runners, wake-ups, lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from application.access import SYSTEM
from infrastructure.database import Database, PostgresDatabase, SqliteDatabase
from infrastructure.leader_lock import LocalLock
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.signals import Signal
from interfaces.bootstrap import Container, all_projections
from tests.support.observe import Attempts, ParkedWaits, named
from tests.support.views import (
    AppliedLedger,
    advisory_lock_holders,
    assert_each_event_applied_once,
    assert_sessions_match_runs,
    assert_views_match_rebuild,
    container_with_ledger,
    log_positions,
    positions,
    session_activity,
    terminate_pid,
    wait_until,
)


def create_run(container: Container, session_id: str | None = None) -> dict[str, Any]:
    return container.runs.create(
        SYSTEM,
        tenant_id="tenant-a",
        project_id="proj",
        backend_profile="codex",
        session_ref={"sessionId": session_id} if session_id else None,
        resource_bundle_ref=None,
    )


@pytest.fixture
def ledger_container(settings: Settings) -> Iterator[Container]:
    """A started container whose runner also feeds the AppliedLedger test projection."""
    container = container_with_ledger(settings)
    container.start()
    yield container
    container.close()


def test_live_views_equal_a_rebuild_after_concurrent_session_activity(
    ledger_container: Container,
) -> None:
    c = ledger_container
    with ThreadPoolExecutor(4) as pool:
        run_ids = list(pool.map(lambda n: session_activity(c, f"w{n}"), range(16)))

    assert c.views.wait_for(None, timeout=10)
    live = assert_views_match_rebuild(c.log, c.db, c.projections)
    assert len(live["session_summaries"]) == 16
    assert len(live["session_commands"]) == 32
    assert len(live["session_read_cursors"]) == 16
    assert {row["execution_state"] for row in live["session_summaries"]} == {"terminal"}
    assert_each_event_applied_once(c.log, c.db)
    assert_sessions_match_runs(c, run_ids)


def test_views_catch_up_on_the_save_signal_well_before_the_poll(settings: Settings) -> None:
    c = Container(settings.model_copy(update={"poll_interval": 30.0}))
    idle = ParkedWaits(c.events_signal, named("projection-runner"))
    c.start()
    try:
        assert c.views.wait_for(None, timeout=10)
        seen = 0
        for n in range(5):
            # The runner is idle: parked on its wake-up signal, with its 30 s poll timer as the timeout.
            assert idle.wait_parked(10, after=seen)
            assert idle.timeouts[-1] == 30.0
            seen = idle.waits
            position = create_run(c, f"sess-{n}")["position"]
            started = time.monotonic()
            assert c.views.wait_for(position, timeout=10)
            assert time.monotonic() - started < 2.0  # the poll would take 30 s
    finally:
        c.close()


def test_runner_folds_the_log_in_batches_of_the_configured_size(settings: Settings) -> None:
    c = Container(settings.model_copy(update={"projection_batch_size": 7}))  # not started
    try:
        run_id = create_run(c, "sess-batch")["id"]
        for n in range(30):
            c.run_events.append(SYSTEM, run_id, [{"type": "reasoning", "payload": {"n": n}}])
        all_positions = log_positions(c.log)
        assert len(all_positions) == 32  # Session.Created, Run.Created, 30 appends

        read = []
        while count := c.runner.run_once():
            read.append(count)
            reached = all_positions[sum(read) - 1]
            assert set(positions(c.db, c.projections).values()) == {reached}
        assert read == [7, 7, 7, 7, 4]
        assert_views_match_rebuild(c.log, c.db, c.projections)
        summary = c.db.fetchone("SELECT last_event_seq FROM session_summaries")
        assert summary == {"last_event_seq": 30}
    finally:
        c.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_replica_waiting_for_a_position_is_woken_by_notify(settings: Settings) -> None:
    leader = Container(settings)
    leader.start()
    replica = Container(settings.model_copy(update={"poll_interval": 30.0}))
    try:
        assert wait_until(lambda: len(advisory_lock_holders(str(settings.database_url))) == 1, 10)
        replica.start()
        replica.views.poll_interval = 30.0  # only a signal can wake this waiter in time
        assert replica.listener is not None
        assert wait_until(lambda: replica.listener is not None and replica.listener.connections >= 1, 10)
        # The listener's wake-up after connecting (it may have missed notifications) has fired: the
        # replica's runner, not the leader, never fires this signal itself.
        assert wait_until(lambda: replica.advanced_signal.generation >= 1, 10)

        result: dict[str, Any] = {}
        target = leader.log.head() + 1

        def wait() -> None:
            result["ok"] = replica.views.wait_for(target, timeout=20)
            result["at"] = time.monotonic()

        # The waiter's first wait on the real signal says it is parked: only a NOTIFY can wake it now.
        signal, parked = replica.views.advanced_signal, threading.Event()
        real_wait = signal.wait

        def observed_wait(since: int, timeout: float) -> bool:
            if threading.current_thread() is waiter:
                parked.set()
            return real_wait(since, timeout)

        signal.wait = observed_wait  # type: ignore[method-assign]
        waiter = threading.Thread(target=wait)
        waiter.start()
        assert parked.wait(10)
        written_at = time.monotonic()
        position = create_run(leader, "sess-replica")["position"]
        waiter.join(timeout=25)
        assert not waiter.is_alive()
        assert result["ok"] is True
        assert result["at"] - written_at < 2.5  # its poll would take 30 s
        assert replica.views.processed() >= position
    finally:
        replica.close()
        leader.close()


def two_runners(c: Container, second_db: Database) -> list[ProjectionRunner]:
    """Two runners over the same views, both always 'leader', woken together by every save."""
    return [
        ProjectionRunner(
            c.log,
            db,
            [*all_projections(), AppliedLedger()],
            events_signal=c.events_signal,
            advanced_signal=Signal(),
            leader=LocalLock(),
            batch_size=5,
            poll_interval=0.01,
        )
        for db in (c.db, second_db)
    ]


def test_two_runners_over_the_same_views_apply_each_event_exactly_once(
    settings: Settings, backend: str
) -> None:
    c = container_with_ledger(settings)  # its own runner is never started
    if backend == "postgres":
        second_db: Database = PostgresDatabase(str(settings.database_url), max_size=4)
    else:
        second_db = SqliteDatabase(Path(settings.data_dir) / "views.sqlite3")
    runners = two_runners(c, second_db)
    try:
        for runner in runners:
            runner.start()
        with ThreadPoolExecutor(4) as pool:
            run_ids = list(pool.map(lambda n: session_activity(c, f"two{n}"), range(12)))
        head = c.log.head()
        assert wait_until(lambda: set(positions(c.db, c.projections).values()) == {head}, 15)
        for runner in runners:
            runner.stop()
        assert all(runner.error is None for runner in runners), [r.error for r in runners]
        # Both runners committed batches (a skipped batch commits too, after its position check).
        assert all(runner.advanced_signal.generation > 0 for runner in runners)

        assert_each_event_applied_once(c.log, c.db)
        assert_views_match_rebuild(c.log, c.db, c.projections)
        assert_sessions_match_runs(c, run_ids)
    finally:
        for runner in runners:
            runner.stop()
        second_db.close()
        c.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_one_replica_holds_the_projection_lock_and_the_other_takes_over_when_it_dies(
    settings: Settings,
) -> None:
    url = str(settings.database_url)
    first = Container(settings)
    # The second runner polls often: it tries the lock every 50 ms (and on every wake-up).
    second = Container(settings.model_copy(update={"poll_interval": 0.05}))
    tries = Attempts(second.runner.leader, "acquire")
    first.start()
    try:
        assert wait_until(lambda: len(advisory_lock_holders(url)) == 1, 10)
        checked = first.runner.leader._checked_at
        second.start()
        # The second runner tries the lock again and again and never gets it, while the first, the
        # holder, checks its lock connection again (every second) and keeps it.
        for attempts in range(1, 6):
            assert tries.wait_for(attempts, 10)
            assert len(advisory_lock_holders(url)) == 1
        assert wait_until(lambda: first.runner.leader._checked_at > checked, 10)
        assert tries.wait_for(len(tries.results) + 1, 10)
        assert not any(tries.returned)
        assert len(advisory_lock_holders(url)) == 1
        assert first.runner.leader._held and not second.runner.leader._held

        position = create_run(first, "sess-before")["position"]
        assert second.views.wait_for(position, timeout=10)

        for _ in range(5):  # the old holder may, rarely, win the lock back first: kill it again
            (holder,) = advisory_lock_holders(url)
            terminate_pid(holder)
            if wait_until(lambda: second.runner.leader._held, 10):
                break
        assert second.runner.leader._held
        assert wait_until(lambda: not first.runner.leader._held, 5)
        assert len(advisory_lock_holders(url)) == 1

        # The views keep advancing under the new holder, for writes through either replica.
        for c in (first, second, first):
            position = create_run(c, None)["position"]
            assert first.views.wait_for(position, timeout=10)
            assert second.views.wait_for(position, timeout=10)
        assert len(advisory_lock_holders(url)) == 1
        assert second.runner.leader._held and not first.runner.leader._held
        assert_views_match_rebuild(first.log, first.db, first.projections)
    finally:
        second.close()
        first.close()
