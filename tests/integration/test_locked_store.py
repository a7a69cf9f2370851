"""SQLite held locked by another process: writes give up within a bound, health answers in a second."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest

from infrastructure.availability import DatabaseUnavailable
from infrastructure.database import SQLITE_LOCK_TIMEOUT, SqliteDatabase
from interfaces.bootstrap import Container
from tests.support.views import wait_until

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


class _Connection:
    """The views connection, forwarding everything; `begin` is set when `thread` starts a write."""

    def __init__(self, conn: sqlite3.Connection, thread: threading.Thread, begin: threading.Event) -> None:
        self._conn, self._thread, self._begin = conn, thread, begin

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def cursor(self) -> Any:
        return _Cursor(self._conn.cursor(), self._thread, self._begin)


class _Cursor:
    def __init__(self, cur: sqlite3.Cursor, thread: threading.Thread, begin: threading.Event) -> None:
        self._cur, self._thread, self._begin = cur, thread, begin

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "BEGIN IMMEDIATE" and threading.current_thread() is self._thread:
            self._begin.set()
        return self._cur.execute(sql, *args)


def begins_of(db: SqliteDatabase, thread: threading.Thread) -> threading.Event:
    """An event set when `thread` sends BEGIN IMMEDIATE on the views connection (it holds it then)."""
    begin = threading.Event()
    db._conn = _Connection(db._conn, thread, begin)  # type: ignore[assignment]
    return begin


def test_a_write_behind_another_process_lock_is_unavailable_and_health_still_answers(
    container: Container,
) -> None:
    assert isinstance(container.db, SqliteDatabase)
    # Another process's write transaction on the views file, as `sqlite3` in a shell would hold.
    other = sqlite3.connect(str(container.settings.data_dir / "views.sqlite3"), isolation_level=None)
    outcome: list[tuple[BaseException | None, float]] = []

    def write() -> None:
        started = time.monotonic()
        try:
            with container.db.transaction() as cur:
                cur.execute("UPDATE projection_positions SET position = position")
        except DatabaseUnavailable as error:
            outcome.append((error, time.monotonic() - started))
        else:
            outcome.append((None, time.monotonic() - started))

    other.execute("BEGIN IMMEDIATE")
    try:
        writer = threading.Thread(target=write)
        waiting = begins_of(container.db, writer)
        writer.start()
        # The writer has sent its BEGIN IMMEDIATE, holding the views connection: SQLite now waits
        # out its busy timeout on the other process's lock.
        assert waiting.wait(10)
        started = time.monotonic()
        health = container.health()
        assert time.monotonic() - started <= 1.0
        assert writer.is_alive()  # health answered while the writer was still waiting
        assert health["ready"] is False and health["failureKind"] == "database-unreachable"
        writer.join(timeout=SQLITE_LOCK_TIMEOUT + 5)
    finally:
        other.execute("ROLLBACK")
        other.close()

    error, took = outcome[0]
    assert isinstance(error, DatabaseUnavailable)
    assert took <= SQLITE_LOCK_TIMEOUT + 1.5
    assert wait_until(lambda: container.health()["ready"], 5)
