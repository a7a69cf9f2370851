"""Run reads in one query: the position comes with the run, a long run loads from a snapshot."""

from __future__ import annotations

from typing import Any

from application.access import SYSTEM
from infrastructure.event_log import EventLog, postgres_env, sqlite_env
from infrastructure.settings import Settings
from interfaces.bootstrap import Container


def another_replica(settings: Settings) -> EventLog:
    if settings.database_url:
        return EventLog(postgres_env(settings.database_url, 2))
    return EventLog(sqlite_env(settings.data_dir / "events.sqlite3"))


def counting_queries(log: EventLog) -> list[int]:
    """Rows returned by each query the log's positioned reads make."""
    counts: list[int] = []
    query = log.reads._query

    def counted(sql: str, params: tuple[Any, ...]) -> list[Any]:
        rows = query(sql, params)
        counts.append(len(rows))
        return rows

    log.reads._query = counted
    return counts


def long_run(c: Container, events: int) -> str:
    run = c.runs.create(
        SYSTEM, tenant_id="tenant-a", project_id="p", backend_profile="codex", session_ref=None,
        resource_bundle_ref=None,
    )  # fmt: skip
    epoch = c.runs.claim(SYSTEM, run["id"], "runner-1", 600_000)["claimEpoch"]
    for start in range(0, events, 100):
        batch = [{"type": "usage", "payload": {"i": i}, "claimEpoch": epoch} for i in range(start, start + 100)]  # noqa: E501
        c.run_events.append(SYSTEM, run["id"], batch)
    return str(run["id"])


def test_a_long_run_loads_from_its_latest_snapshot_in_one_query(
    container: Container, settings: Settings
) -> None:
    run_id = long_run(container, 1_000)
    replica = another_replica(settings)
    try:
        queries = counting_queries(replica)
        run, position, _ = replica.read(run_id)
        assert queries == [queries[0]] and queries[0] <= 1 + 200  # a snapshot, then the events from it
        assert position == container.log.position_of(run_id)
        replayed: Any = None
        for _, event in container.log.aggregate_events(run_id, 0, run.version):
            replayed = event.mutate(replayed)
        assert {k: v for k, v in vars(run).items() if k != "_pending_events"} == {
            k: v for k, v in vars(replayed).items() if k != "_pending_events"
        }
    finally:
        replica.close()


def test_a_warm_read_asks_only_for_newer_events_and_gives_their_position(
    container: Container, settings: Settings
) -> None:
    run_id = long_run(container, 300)
    replica = another_replica(settings)
    try:
        replica.read(run_id)
        queries = counting_queries(replica)
        assert replica.read(run_id)[1] == container.log.position_of(run_id) and queries == [0]
        container.run_events.append(SYSTEM, run_id, [{"type": "usage", "payload": {}}])
        run, position, _ = replica.read(run_id)
        assert (run.last_seq, position, queries[1]) == (301, container.log.position_of(run_id), 1)
    finally:
        replica.close()


def test_pages_of_a_long_run_match_the_stored_events(container: Container) -> None:
    run_id = long_run(container, 600)
    for after in (0, 199, 450, 599, 600):
        items, next_seq = container.run_events.page(SYSTEM, run_id, after, 100)
        assert [item["seq"] for item in items] == list(range(after + 1, min(after + 100, 600) + 1))
        assert next_seq == (after + 100 if after + 100 < 600 else None)
    assert container.runs.get(SYSTEM, run_id)["position"] == container.log.position_of(run_id)
