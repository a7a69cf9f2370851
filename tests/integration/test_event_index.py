"""`/events` pages read the event index up to its position and scan only the log above it (ADR 0042)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from application.access import SYSTEM, Principal
from application.event_log import EventFilter, EventLogUseCases
from infrastructure.database import Database
from infrastructure.log_reader import LogReader
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from projections import event_index
from projections.event_index import EventIndex
from tests.integration.test_session_list_index import Explaining, full_scans
from tests.support.datasets import Datasets
from tests.support.view_databases import run_statements

PRINCIPALS = (
    SYSTEM,
    Principal.of("a1", ["auditor"], ["t1"]),
    Principal.of("a02", ["auditor"], ["t0", "t2"]),
)


@pytest.fixture
def store(settings: Settings) -> Iterator[Container]:
    c = Container(settings)  # not started: the test folds the index when it wants to
    yield c
    c.close()


def fill(c: Container, tenants: range, runs: int) -> list[dict[str, Any]]:
    made = []
    for tenant, n in itertools.product(tenants, range(runs)):
        ref = {"sessionId": f"s-{tenant}-{n % 2}"}
        run = c.runs.create(
            SYSTEM, tenant_id=f"t{tenant}", project_id="p", backend_profile="default",
            session_ref=ref, resource_bundle_ref=None,
        )  # fmt: skip
        c.run_events.append(SYSTEM, run["id"], [{"type": "assistant_message", "payload": {"n": n}}])
        made.append(run)
    return made


def every_page(log: EventLogUseCases, principal: Principal, flt: EventFilter, limit: int) -> list[int]:
    positions: list[int] = []
    after: int | None = 0
    while after is not None:
        page = log.page(principal, after, limit, flt)
        positions += [item["position"] for item in page["items"]]
        after = page["nextAfter"]
    return positions


def filters(runs: list[dict[str, Any]], types: list[str]) -> list[EventFilter]:
    run_id = runs[4]["id"]
    return [
        EventFilter(),
        EventFilter(frozenset(types[:1])),
        EventFilter(frozenset(types[:2])),
        EventFilter(run_id=run_id),
        EventFilter(frozenset(types[-1:]), run_id=run_id),
        EventFilter(session_id="s-1-0"),
        EventFilter(session_id="s-2-1", run_id=runs[-1]["id"]),
        EventFilter(session_id="s-1-1", run_id=run_id),
    ]


@pytest.mark.parametrize("scope_memory", [None, 1])
def test_pages_from_the_index_equal_a_scan_of_the_log_while_it_lags_and_when_caught_up(
    store: Container, scope_memory: int | None
) -> None:
    if scope_memory is not None:
        # Scopes leave the memory within a batch: a later event of an aggregate reads its scope
        # back from the table, so the batch's new scope rows must be written before that read.
        (index,) = (p for p in store.projections if isinstance(p, EventIndex))
        index._cache_size = scope_memory
    scanning = EventLogUseCases(LogReader(store.log))
    runs = fill(store, range(3), 4)
    for run in runs:  # back to the first runs: their scopes are no longer the latest remembered
        store.run_events.append(SYSTEM, run["id"], [{"type": "assistant_message", "payload": {}}])
    store.runner.catch_up()
    runs += fill(store, range(3), 2)  # above the index's position: read from the log
    types = sorted({i["type"] for i in scanning.page(SYSTEM, 0, 500, EventFilter())["items"]})
    for lagging in (True, False):
        if not lagging:
            store.runner.catch_up()
        reached = store.views.processed([event_index.NAME])
        assert (reached < store.log.head()) is lagging
        found = 0
        for principal, flt in itertools.product(PRINCIPALS, filters(runs, types)):
            expected = every_page(scanning, principal, flt, 500)
            found += bool(expected)
            assert every_page(store.event_log, principal, flt, 3) == expected, (principal.name, flt)
            assert every_page(store.event_log, principal, flt, 500) == expected, (principal.name, flt)
        assert found >= 17  # of 24: a tenant's principal finds nothing of the other tenants' runs
    assert every_page(store.event_log, PRINCIPALS[1], EventFilter(run_id=runs[0]["id"]), 5) == []


ROWS = 100_000
SERIES = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) "
INDEX_ROWS = (
    SERIES + "INSERT INTO event_index (position, event_type, tenant_id, aggregate_id) "
    "SELECT i, 'T' || CAST(i % 20 AS TEXT), 't' || CAST(i % 5 AS TEXT), 'a' || CAST(i / 10 AS TEXT) FROM n"
)
REF_ROWS = (
    SERIES + "INSERT INTO event_refs (kind, ref_id, position, event_type, tenant_id) "
    "SELECT k.kind, k.kind || CAST(i / (CASE k.kind WHEN 'run' THEN 10 ELSE 50 END) AS TEXT), i, "
    "'T' || CAST(i % 20 AS TEXT), 't' || CAST(i % 5 AS TEXT) FROM n, "
    "(SELECT 'run' AS kind UNION ALL SELECT 'session') k"
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def big(request: pytest.FixtureRequest, datasets: Datasets) -> Iterator[Database]:
    fill = run_statements(INDEX_ROWS, REF_ROWS)
    with datasets.open("event-index-100k", str(request.param), [EventIndex()], fill) as db:
        yield db


@pytest.mark.slow
def test_every_filter_of_the_event_page_reads_index_ranges_at_100k_events(big: Database) -> None:
    cases = itertools.product(
        (None, ["t1"], ["t0", "t3"]),
        ([], ["T3"], ["T3", "T7"]),
        ((None, None), ("run42", None), (None, "session7"), ("run350", "session70")),
        (0, 50_000),
    )
    for tenants, types, (run_id, session_id), after in cases:
        with big.read() as cur:
            explaining = Explaining(cur, big.dialect)
            event_index.matching_positions(
                explaining,  # type: ignore[arg-type]
                after=after, upto=ROWS, limit=50, tenants=tenants, types=types,
                run_id=run_id, session_id=session_id,
            )  # fmt: skip
        plan = explaining.plans[0]
        assert not full_scans(plan, big.dialect), (tenants, types, run_id, session_id, plan)
        with big.read() as cur:
            found = event_index.matching_positions(
                cur, after=after, upto=ROWS, limit=50, tenants=tenants, types=types,
                run_id=run_id, session_id=session_id,
            )  # fmt: skip
        assert found == sorted(found) and all(after < p <= ROWS for p in found)
