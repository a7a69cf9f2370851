"""SQLite held locked by another process: writes give up within a bound, health answers in a second."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from infrastructure.availability import DatabaseUnavailable
from infrastructure.database import SQLITE_LOCK_TIMEOUT
from interfaces.bootstrap import Container
from tests.support.views import wait_until

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_a_write_behind_another_process_lock_is_unavailable_and_health_still_answers(
    container: Container,
) -> None:
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
        writer.start()
        time.sleep(0.3)  # the writer now waits on the lock, holding the views connection
        started = time.monotonic()
        health = container.health()
        assert time.monotonic() - started <= 1.0
        assert health["ready"] is False and health["failureKind"] == "database-unreachable"
        writer.join(timeout=SQLITE_LOCK_TIMEOUT + 5)
    finally:
        other.execute("ROLLBACK")
        other.close()

    error, took = outcome[0]
    assert isinstance(error, DatabaseUnavailable)
    assert took <= SQLITE_LOCK_TIMEOUT + 1.5
    assert wait_until(lambda: container.health()["ready"], 5)
