"""Title search of the session list keeps the list's order and cursor, from index ranges (ADR 0042)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from infrastructure.database import Database
from projections import session_queries, session_titles
from tests.integration.test_session_list_index import Explaining, expected_order, full_scans, sessions
from tests.support.datasets import Datasets, title_of
from tests.support.synthetic_sessions import PROFILES, TENANTS

# With the session list tests on one worker: the 100k sessions are built once for both files.
pytestmark = pytest.mark.xdist_group("integration/sessions")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def small(request: pytest.FixtureRequest, datasets: Datasets) -> Iterator[Database]:
    yield from sessions(datasets, str(request.param), 240)


def test_the_words_of_a_title_are_its_case_folded_words() -> None:
    assert session_titles.words("Fix the TASK: fix-it, Straße") == ["fix", "the", "task", "it", "strasse"]
    assert session_titles.terms("  ") == [] and session_titles.terms("a Bcd") == ["bcd", "a"]


def matches(i: int, search: list[str]) -> bool:
    title_words = session_titles.words(title_of(i))
    return all(any(w.startswith(term) for w in title_words) for term in search)


def every_page(db: Database, search: list[str], state: str, reader: str | None, scope: Any) -> list[str]:
    tenants, profile = scope
    ids: list[str] = []
    after = None
    while True:
        with db.read() as cur:
            items, after = session_queries.list_sessions(
                cur, tenants=tenants, state=state, backend_profile=profile, reader_id=reader, limit=7,
                after=after, search=search,
            )  # fmt: skip
        ids += [item["sessionId"] for item in items]
        if after is None:
            return ids


@pytest.mark.parametrize("sparse", [5_000, 0], ids=["driven-by-words", "filtered-ranges"])
def test_a_search_pages_exactly_the_matching_sessions_in_list_order(
    small: Database, sparse: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_titles, "SPARSE", sparse)
    with small.read() as cur:
        rows = cur.execute(
            "SELECT word FROM session_title_words WHERE session_id = 'syn-00000006'"
        ).fetchall()
    assert sorted(r["word"] for r in rows) == sorted(session_titles.words(title_of(6)))
    searches = [["task"], ["w1"], ["alpha2", "w2"], ["ta", "fix"], ["nothing"]]
    scopes = [(None, None), ([TENANTS[1], TENANTS[2]], PROFILES[0])]
    for search, state, reader, scope in itertools.product(
        searches, ("default", "unread", "terminal"), (None, "r1"), scopes
    ):
        expected = [s for s in expected_order(state, reader, *scope) if matches(int(s.split("-")[1]), search)]
        assert every_page(small, search, state, reader, scope) == expected, (search, state, reader, scope)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def big(request: pytest.FixtureRequest, datasets: Datasets) -> Iterator[Database]:
    yield from sessions(datasets, str(request.param), 100_000)


@pytest.mark.slow
def test_searches_read_index_ranges_at_100k_sessions(big: Database) -> None:
    # `w12345` has one match: read from the word index; `task` all: the list's ranges, filtered.
    for search, state, reader, tenants in itertools.product(
        (["w12345"], ["task"], ["alpha3", "w1234"]),
        ("default", "all", "unread"),
        (None, "r1"),
        (None, ["t1"]),
    ):
        with big.read() as cur:
            sparse = session_titles.driving(cur, search) is not None
            assert sparse == (search[0] != "task")
            explaining = Explaining(cur, big.dialect)
            count = {"n": 1 if sparse else 10**6}
            explaining.fetchone = lambda: count  # type: ignore[attr-defined]  # noqa: B023
            session_queries.list_sessions(
                explaining,  # type: ignore[arg-type]
                tenants=tenants, state=state, backend_profile=None, reader_id=reader, limit=50,
                after=None, search=search,
            )  # fmt: skip
        for plan in explaining.plans:
            assert not full_scans(plan, big.dialect), (search, state, reader, tenants, plan)
