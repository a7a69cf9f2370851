"""Title search of the session list keeps the list's order and cursor, from index ranges (ADR 0042)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infrastructure.database import Database
from projections import session_queries, session_titles
from projections.session_summaries import SessionSummaries
from tests.integration.test_session_list_index import Explaining, expected_order, full_scans
from tests.support.synthetic_sessions import PROFILES, TENANTS, fill
from tests.support.view_databases import filled_views, run_statements


def title_of(i: int) -> str:
    return f"Fix the Task {f'alpha{i % 4}' if i % 4 else 'zero'} w{i}"


def title_rows(n: int) -> str:
    """Every session's words in SQL: `fix`, `the`, `task`, `alpha1`..`alpha3` or `zero`, `w<i>`."""
    series = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n - 1}) "
    session = "'syn-' || substr(CAST(100000000 + i AS TEXT), 2)"
    return (
        series + "INSERT INTO session_title_words (word, session_id) "
        f"SELECT w.word, {session} FROM n, (SELECT 'fix' AS word UNION ALL SELECT 'the' "
        "UNION ALL SELECT 'task') w UNION ALL "
        f"SELECT CASE WHEN i % 4 = 0 THEN 'zero' ELSE 'alpha' || CAST(i % 4 AS TEXT) END, {session} FROM n "
        f"UNION ALL SELECT 'w' || CAST(i AS TEXT), {session} FROM n"
    )


def views(backend: str, tmp_path: Path, sessions: int) -> Iterator[Database]:
    def filled(db: Database) -> None:
        fill(db, sessions)
        run_statements(title_rows(sessions))(db)

    with filled_views(backend, tmp_path, [SessionSummaries()], filled) as db:
        yield db


@pytest.fixture(params=["sqlite", "postgres"])
def small(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from views(str(request.param), tmp_path, 240)


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
def big(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from views(str(request.param), tmp_path_factory.mktemp("titles"), 100_000)


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
