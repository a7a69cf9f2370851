"""The queue stats fold's task cache is only a hint: a stale entry (another runner, a rollback) is caught."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infrastructure.database import Database, PostgresDatabase, SqliteDatabase
from infrastructure.projection_runner import create_tables
from projections.queue_stats import QueueStats
from projections.queue_stats_queries import queue_stats
from tests.support.postgres import throwaway_database

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Database]:
    if backend == "sqlite":
        database: Database = SqliteDatabase(tmp_path / "views.sqlite3")
        create_tables(database, [QueueStats()])
        yield database
        database.close()
        return
    with throwaway_database() as url:
        database = PostgresDatabase(url, max_size=2)
        create_tables(database, [QueueStats()])
        yield database
        database.close()


def event(name: str, task_id: str, **fields: Any) -> Any:
    cls = type(name.split(".")[1], (SimpleNamespace,), {"__qualname__": name})
    return cls(originator_id=task_id, timestamp=NOW, **fields)


def created(task_id: str) -> Any:
    return event("QueueTask.Created", task_id, tenant_id="tenant-a", queue="q", lane="fast")


def attempt(task_id: str, state: str) -> Any:
    return event("QueueTask.AttemptRecorded", task_id, state=state)


def fold(db: Database, projection: QueueStats, e: Any, position: int) -> None:
    with db.transaction() as cur:
        projection.apply(cur, e, position)


def by_state(db: Database) -> dict[str, int]:
    with db.read() as cur:
        stats = queue_stats(cur, tenants=None, queue="q", now=NOW)
    return dict(stats["byState"]) | {"total": stats["total"], "maxVersion": stats["maxVersion"]}


def test_a_move_folded_by_another_runner_is_not_hidden_by_this_runners_cache(db: Database) -> None:
    ours, theirs = QueueStats(), QueueStats()
    fold(db, ours, created("t1"), 1)
    fold(db, ours, attempt("t1", "claimed"), 2)
    fold(db, theirs, attempt("t1", "running"), 3)  # our cache still says "claimed"
    fold(db, ours, attempt("t1", "completed"), 4)
    assert by_state(db) == {"completed": 1, "total": 1, "maxVersion": 4}


def test_a_rolled_back_move_is_not_remembered(db: Database) -> None:
    stats = QueueStats()
    fold(db, stats, created("t1"), 1)
    with pytest.raises(RuntimeError), db.transaction() as cur:
        stats.apply(cur, attempt("t1", "claimed"), 2)
        raise RuntimeError("the batch failed before it committed")
    fold(db, stats, attempt("t1", "running"), 2)
    assert by_state(db) == {"running": 1, "total": 1, "maxVersion": 2}


def test_a_task_unknown_to_the_cache_is_looked_up(db: Database) -> None:
    fold(db, QueueStats(), created("t1"), 1)
    fresh = QueueStats()
    fold(db, fresh, attempt("t1", "claimed"), 2)
    fold(db, fresh, attempt("t1", "claimed"), 3)  # a repeat moves nothing but the version
    assert by_state(db) == {"claimed": 1, "total": 1, "maxVersion": 3}
