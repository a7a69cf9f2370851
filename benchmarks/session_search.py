"""Title search of the session list (`GET /sessions?q=`) at N synthetic sessions, per backend.

    python -m benchmarks.session_search --sessions 100000
    python -m benchmarks.session_search --backend sqlite --sessions 100000

The session views are filled with synthetic rows (`tests/support/synthetic_sessions.py`) and title
words `fix the task alpha<i % 4> w<i>`; each search's first page (limit 50, reader `r1`,
`state=all`) is read through `session_queries.list_sessions` and its p50/p99 printed: a term with
one match, with 111 (`w123` starts w123, w1230..w1239, w12300..w12399), a pair, every session.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from infrastructure.database import Database, PostgresDatabase, SqliteDatabase
from infrastructure.projection_runner import create_tables
from projections import session_queries, session_titles
from projections.session_summaries import SessionSummaries
from tests.support.datasets import title_rows
from tests.support.synthetic_sessions import fill

SEARCHES = {"one match (w12345)": "w12345", "111 matches (w123)": "w123", "pair (alpha3 w77)": "alpha3 w77",
            "every session (task)": "task", "no match (zebra)": "zebra"}  # fmt: skip


@contextmanager
def views(backend: str, admin_url: str, sessions: int) -> Iterator[Database]:
    def filled(db: Database) -> Database:
        create_tables(db, [SessionSummaries()])
        fill(db, sessions)
        with db.transaction() as cur:
            cur.execute(title_rows(sessions))
            cur.execute("ANALYZE")
        return db

    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = filled(SqliteDatabase(Path(tmp) / "views.sqlite3"))
            yield db
            db.close()
        return
    with throwaway_database(admin_url) as url:
        db = filled(PostgresDatabase(url, 2))
        yield db
        db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    ours = float("nan")
    with views(args.backend, args.database_url, args.sessions) as db:
        for name, q in SEARCHES.items():
            latencies = []
            for _ in range(args.requests):
                start = time.perf_counter()
                with db.read() as cur:
                    session_queries.list_sessions(
                        cur, tenants=None, state="all", backend_profile=None, reader_id="r1", limit=50,
                        after=None, search=session_titles.terms(q),
                    )  # fmt: skip
                latencies.append((time.perf_counter() - start) * 1000)
            latencies.sort()
            p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
            print(f"{name}: p50 {p50:.2f} ms p99 {p99:.2f} ms")
            if q == BASELINE_SEARCH:
                ours = p50
        base = []
        for _ in range(BASELINE_REQUESTS):
            start = time.perf_counter()
            with db.read() as cur:
                scan_search(cur, BASELINE_SEARCH)
            base.append((time.perf_counter() - start) * 1000)
        base.sort()
        base_p50 = base[len(base) // 2]
        print(f"baseline, {BASELINE_SEARCH!r} with the words table scanned: p50 {base_p50:.2f} ms")
    print(f"\nratio agentrun / baseline: {ours / base_p50:.4f}")
    return 0


BASELINE_SEARCH = "w123"
BASELINE_REQUESTS = 10


def scan_search(cur: Any, q: str) -> list[dict[str, Any]]:
    """The baseline: the first page of the same search with the title words scanned, not indexed."""
    found = session_titles.terms(q)
    having = " AND ".join(["MAX(CASE WHEN (word || '') LIKE ? THEN 1 ELSE 0 END) = 1"] * len(found))
    return cur.execute(
        "SELECT s.session_id FROM session_summaries s JOIN (SELECT session_id FROM session_title_words "
        f"GROUP BY session_id HAVING {having}) m ON m.session_id = s.session_id "
        "ORDER BY s.active_rank, s.neg_activity, s.session_id LIMIT 51",
        [term + "%" for term in found],
    ).fetchall()


if __name__ == "__main__":
    raise SystemExit(main())
