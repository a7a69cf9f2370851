"""The session list reads index ranges (EXPLAIN at 100k rows) and keeps the contract's order exactly."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from infrastructure.database import Database
from projections import session_queries
from projections.session_summaries import SessionSummaries
from tests.support.datasets import Datasets, sessions_with_titles
from tests.support.synthetic_sessions import PROFILES, TENANTS, cursor_rows, summary_rows

# With the session list tests on one worker: the 100k sessions are built once for both files.
pytestmark = pytest.mark.xdist_group("integration/sessions")

STATES = session_queries.LIST_STATES
READERS = (None, "r1")
SCOPES: tuple[tuple[list[str] | None, str | None], ...] = (
    (None, None),
    (None, PROFILES[1]),
    ([TENANTS[2]], None),
    ([TENANTS[0], TENANTS[3]], PROFILES[0]),
)


def sessions(datasets: Datasets, backend: str, n: int) -> Iterator[Database]:
    """`n` synthetic sessions with their titles (shared with the search tests), read-only."""
    with datasets.open(f"sessions-{n}", backend, [SessionSummaries()], sessions_with_titles(n)) as db:
        yield db


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def big(request: pytest.FixtureRequest, datasets: Datasets) -> Iterator[Database]:
    yield from sessions(datasets, str(request.param), 100_000)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def small(request: pytest.FixtureRequest, datasets: Datasets) -> Iterator[Database]:
    yield from sessions(datasets, str(request.param), 240)


class Explaining:
    """A cursor that explains each statement instead of running it."""

    def __init__(self, cur: Any, dialect: str) -> None:
        self.cur, self.dialect = cur, dialect
        self.plans: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Explaining:
        prefix = "EXPLAIN " if self.dialect == "postgres" else "EXPLAIN QUERY PLAN "
        rows = self.cur.execute(prefix + sql, params).fetchall()
        column = "QUERY PLAN" if self.dialect == "postgres" else "detail"
        self.plans.append("\n".join(str(row[column]) for row in rows))
        return self

    def fetchall(self) -> list[dict[str, Any]]:
        return []


def full_scans(plan: str, dialect: str) -> list[str]:
    if dialect == "postgres":
        return [line for line in plan.splitlines() if "Seq Scan" in line]
    # A scan of a table without an index; not of a subquery's rows (r0, q) or a constant row.
    subquery = re.compile(r"SCAN (r\d+|q|\(subquery|CONSTANT ROW)")
    return [
        line
        for line in plan.splitlines()
        if line.startswith("SCAN ") and " USING " not in line and not subquery.match(line)
    ]


@pytest.mark.slow
def test_every_list_state_and_page_reads_index_ranges_at_100k_sessions(big: Database) -> None:
    middle = [1, 0, -1_700_000_000_000_000 - 20_000_000, "syn-00040000"]
    cases = itertools.product(
        STATES, READERS, SCOPES, (None, [0, 1, *middle[2:]], middle, [1, 1, *middle[2:]])
    )
    checked = 0
    for state, reader, (tenants, profile), after in cases:
        with big.read() as cur:
            explaining = Explaining(cur, big.dialect)
            session_queries.list_sessions(
                explaining,  # type: ignore[arg-type]
                tenants=tenants, state=state, backend_profile=profile, reader_id=reader, limit=50,
                after=after,
            )  # fmt: skip
        for plan in explaining.plans:
            assert not full_scans(plan, big.dialect), (state, reader, tenants, profile, after, plan)
            checked += 1
    assert checked > 100


def test_changes_since_read_the_version_index(big: Database) -> None:
    with big.read() as cur:
        explaining = Explaining(cur, big.dialect)
        session_queries.list_changed(
            explaining,  # type: ignore[arg-type]
            tenants=None, since=999_000, state="all", backend_profile=None, reader_id="r1", limit=50,
            after=[999_010, "syn-00099900"],
        )  # fmt: skip
    assert not full_scans(explaining.plans[0], big.dialect), explaining.plans[0]


def expected_order(
    state: str, reader: str | None, tenants: list[str] | None, profile: str | None
) -> list[str]:
    """The contract's order computed from the synthetic rows themselves."""
    read = {row[0]: row[2] for row in cursor_rows(240, "r1")} if reader else {}
    keyed = []
    for row in summary_rows(240):
        session_id, tenant, backend, version, execution_state, active_rank = (
            row[0], row[1], row[3], row[5], row[6], row[15]
        )  # fmt: skip
        if (tenants is not None and tenant not in tenants) or (profile is not None and backend != profile):
            continue
        unread_rank = 0 if active_rank == 1 and read.get(session_id, -1) < version else 1
        keep = {
            "default": active_rank == 0 or unread_rank == 0,
            "running": active_rank == 0,
            "unread": unread_rank == 0,
            "terminal": execution_state == "terminal",
            "idle": execution_state == "idle",
            "all": True,
        }[state]
        if keep:
            keyed.append(((active_rank, unread_rank, row[16], session_id), session_id))
    return [session_id for _, session_id in sorted(keyed)]


def test_following_cursors_yields_each_session_once_in_attention_order(small: Database) -> None:
    for state, reader, (tenants, profile) in itertools.product(STATES, READERS, SCOPES):
        listed: list[str] = []
        after = None
        while True:
            with small.read() as cur:
                items, after = session_queries.list_sessions(
                    cur, tenants=tenants, state=state, backend_profile=profile, reader_id=reader, limit=7,
                    after=after,
                )  # fmt: skip
            listed += [item["sessionId"] for item in items]
            if after is None:
                break
        assert listed == expected_order(state, reader, tenants, profile), (state, reader, tenants, profile)
