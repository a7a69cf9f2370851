"""A views database on either backend, with its tables created and filled, for plan and paging tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from infrastructure.database import Database, PostgresDatabase, SqliteDatabase
from infrastructure.projection_runner import create_tables
from projections.base import Projection
from tests.support.postgres import throwaway_database


@contextmanager
def filled_views(
    backend: str, directory: Path, projections: Sequence[Projection], fill: Callable[[Database], None]
) -> Iterator[Database]:
    """An SQLite file in `directory` or a throwaway PostgreSQL database, filled, closed afterwards."""
    if backend == "sqlite":
        db: Database = SqliteDatabase(directory / "views.sqlite3")
        yield from _filled(db, projections, fill)
        return
    with throwaway_database() as url:
        yield from _filled(PostgresDatabase(url, 2), projections, fill)


def _filled(
    db: Database, projections: Sequence[Projection], fill: Callable[[Database], None]
) -> Iterator[Database]:
    try:
        create_tables(db, projections)
        fill(db)
        yield db
    finally:
        db.close()


def run_statements(*statements: str) -> Callable[[Database], None]:
    """A fill running these statements in one transaction, then ANALYZE (plans see the row counts)."""

    def fill(db: Database) -> None:
        with db.transaction() as cur:
            for statement in (*statements, "ANALYZE"):
                cur.execute(statement)

    return fill
