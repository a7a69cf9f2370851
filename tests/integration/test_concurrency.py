"""Projections under fire: the LISTEN connection or the whole database dies mid-stream."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg
import pytest

from infrastructure.leader_lock import AdvisoryLock
from infrastructure.settings import Settings
from infrastructure.signals import PostgresListener
from interfaces.bootstrap import Container
from tests.support.postgres import terminate_backends
from tests.support.views import (
    advisory_lock_holders,
    allow_connections,
    assert_each_event_applied_once,
    assert_sessions_match_runs,
    assert_views_match_rebuild,
    connections_of,
    container_with_ledger,
    kill_all_connections,
    session_activity,
    wait_until,
)

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@pytest.fixture
def ledger_container(settings: Settings) -> Iterator[Container]:
    container = container_with_ledger(settings)
    container.start()
    yield container
    container.close()


class Writers:
    """Threads that keep living through session activities until stopped; returns the run ids."""

    def __init__(self, container: Container, threads: int, retry_outages: bool) -> None:
        self.container = container
        self.failures: list[BaseException] | None = [] if retry_outages else None
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(threads)
        self.futures: list[Future[list[str]]] = [
            self.pool.submit(self._write, f"t{n}") for n in range(threads)
        ]

    def _write(self, thread: str) -> list[str]:
        run_ids = []
        n = 0
        while not self.stop.is_set():
            run_ids.append(session_activity(self.container, f"{thread}-{n}", transient_errors=self.failures))
            n += 1
        return run_ids

    def finish(self, timeout: float = 60) -> list[str]:
        self.stop.set()
        try:
            return [run_id for future in self.futures for run_id in future.result(timeout=timeout)]
        finally:
            self.pool.shutdown(wait=False)

    def wrote_more(self, events: int, timeout: float = 30) -> None:
        """Return once the log has grown by `events` from now (the writers are writing)."""
        head = self.container.log.head()
        assert wait_until(lambda: self.container.log.head() >= head + events, timeout)

    def completed(self) -> Callable[[], int]:
        """How many sessions the views show finished (-1 while the database is unreachable)."""

        def count() -> int:
            try:
                row = self.container.db.fetchone(
                    "SELECT count(*) AS n FROM session_summaries WHERE execution_state = 'terminal'"
                )
            except Exception:  # noqa: BLE001 - the database may be away
                return -1
            return int(row["n"]) if row else 0

        return count


def assert_views_consistent(c: Container, run_ids: list[str]) -> None:
    assert c.views.wait_for(None, timeout=30)
    assert_each_event_applied_once(c.log, c.db)
    live = assert_views_match_rebuild(c.log, c.db, c.projections)
    assert_sessions_match_runs(c, run_ids)
    sessions_created = {
        event.session_id
        for event in (c.log.decode(n) for n in c.log.notifications(after=0, limit=1_000_000))
        if type(event).__qualname__ == "Session.Created"
    }
    assert {row["session_id"] for row in live["session_summaries"]} == sessions_created
    assert len(live["session_runs"]) >= len(run_ids)


def test_views_match_a_rebuild_after_the_listen_connection_is_killed_mid_stream(
    ledger_container: Container, settings: Settings
) -> None:
    c = ledger_container
    url = str(settings.database_url)
    assert c.listener is not None
    listener = c.listener
    assert wait_until(lambda: listener.connections == 1, 10)

    writers = Writers(c, threads=3, retry_outages=False)
    try:
        for kill in range(1, 5):
            writers.wrote_more(10)  # mid-stream: the writers are writing
            assert terminate_backends(url, PostgresListener.APPLICATION_NAME) == 1
            assert wait_until(lambda kill=kill: listener.connections == kill + 1, 10)
            assert wait_until(lambda: connections_of(url, PostgresListener.APPLICATION_NAME) == 1, 10)
        writers.wrote_more(10)  # and go on writing after the last reconnect
    finally:
        run_ids = writers.finish()

    assert len(run_ids) >= 6
    assert_views_consistent(c, run_ids)
    assert c.runner.error is None


# Generous waits: after an outage the pools reconnect with backoff, slower on a loaded machine.
@pytest.mark.timeout(300)
def test_views_match_a_rebuild_after_a_database_restart_mid_stream(
    ledger_container: Container, settings: Settings
) -> None:
    c = ledger_container
    url = str(settings.database_url)
    assert c.listener is not None
    listener = c.listener
    assert wait_until(lambda: len(advisory_lock_holders(url)) == 1, 10)

    writers = Writers(c, threads=3, retry_outages=True)
    assert writers.failures is not None and c.availability is not None
    failures, availability = writers.failures, c.availability
    try:
        for restart in range(1, 3):
            before = writers.completed()()
            assert wait_until(lambda before=before: writers.completed()() >= before + 3, 60)
            # A restart: every connection dies and, for a moment, none can be made.
            failed = len(failures)
            allow_connections(url, False)
            try:
                assert kill_all_connections(url) >= 3  # pools, listener, leader lock at least
                with pytest.raises(psycopg.OperationalError):
                    psycopg.connect(url, connect_timeout=5).close()
                # The service has seen the outage: its probe finds the database away, and a write
                # failed on it (the writers retry until it is back).
                assert wait_until(lambda: not availability.status().reachable, 30)
                assert wait_until(lambda failed=failed: len(failures) > failed, 30)
            finally:
                allow_connections(url, True)
            assert wait_until(lambda restart=restart: listener.connections > restart, 30)
        before = writers.completed()()
        assert wait_until(lambda: writers.completed()() >= before + 3, 60)
    finally:
        allow_connections(url, True)
        run_ids = writers.finish()

    assert_views_consistent(c, run_ids)
    # The runner got its leadership back on a new lock connection.
    assert wait_until(lambda: len(advisory_lock_holders(url)) == 1, 10)
    assert connections_of(url, AdvisoryLock.APPLICATION_NAME) == 1
    assert wait_until(lambda: c.runner.error is None, 10)
