"""Views datasets built once per test process (xdist worker) and shared by the tests that read them.

A 100k-row dataset takes seconds to build, more on PostgreSQL; a file's module-scoped fixture still
built it again on every worker its tests went to. Here each (name, backend) is built once per
process, on first use, and every test opens its own connection to it. The tests only read: on
PostgreSQL the connections they get are read-only (`default_transaction_read_only`), so a write
fails instead of changing what the next test sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from psycopg.conninfo import make_conninfo

from infrastructure.database import Database, PostgresDatabase, SqliteDatabase
from infrastructure.projection_runner import create_tables
from projections.base import Projection
from tests.support.postgres import throwaway_database
from tests.support.synthetic_sessions import fill as fill_sessions
from tests.support.view_databases import run_statements

Fill = Callable[[Database], None]


class Datasets:
    """Named datasets on either backend, built on first use and dropped by `close`."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._built: dict[tuple[str, str], str] = {}
        self._databases = ExitStack()

    @contextmanager
    def open(
        self, name: str, backend: str, projections: Sequence[Projection], fill: Fill
    ) -> Iterator[Database]:
        """A connection to dataset `name` on `backend` (read-only on PostgreSQL); built if need be."""
        key = (name, backend)
        if key not in self._built:
            self._built[key] = self._build(name, backend, projections, fill)
        where = self._built[key]
        db: Database
        if backend == "sqlite":
            db = SqliteDatabase(Path(where))
        else:
            db = PostgresDatabase(make_conninfo(where, options="-c default_transaction_read_only=on"), 2)
        try:
            yield db
        finally:
            db.close()

    def _build(self, name: str, backend: str, projections: Sequence[Projection], fill: Fill) -> str:
        db: Database
        if backend == "sqlite":
            where = str(self._directory / f"{name}.sqlite3")
            db = SqliteDatabase(Path(where))
        else:
            where = self._databases.enter_context(throwaway_database())
            db = PostgresDatabase(where, 2)
        try:
            create_tables(db, projections)
            fill(db)
        finally:
            db.close()
        return where

    def close(self) -> None:
        self._databases.close()


def title_of(i: int) -> str:
    """The title of synthetic session `i`: `fix`, `the`, `task`, `alpha1`..`alpha3` or `zero`, `w<i>`."""
    return f"Fix the Task {f'alpha{i % 4}' if i % 4 else 'zero'} w{i}"


def title_rows(n: int) -> str:
    """Every session's title words in SQL (as `title_of` says)."""
    series = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n - 1}) "
    session = "'syn-' || substr(CAST(100000000 + i AS TEXT), 2)"
    return (
        series + "INSERT INTO session_title_words (word, session_id) "
        f"SELECT w.word, {session} FROM n, (SELECT 'fix' AS word UNION ALL SELECT 'the' "
        "UNION ALL SELECT 'task') w UNION ALL "
        f"SELECT CASE WHEN i % 4 = 0 THEN 'zero' ELSE 'alpha' || CAST(i % 4 AS TEXT) END, {session} FROM n "
        f"UNION ALL SELECT 'w' || CAST(i AS TEXT), {session} FROM n"
    )


def sessions_with_titles(n: int) -> Fill:
    """`n` synthetic sessions, reader r1's cursors and every title's words (the session list and search)."""

    def fill(db: Database) -> None:
        fill_sessions(db, n)
        run_statements(title_rows(n))(db)

    return fill
