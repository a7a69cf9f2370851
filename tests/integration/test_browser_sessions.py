"""Console sessions in the views database: found by id only, never stored in clear, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infrastructure.browser_sessions import BrowserSessions, csrf_of
from infrastructure.settings import Settings
from interfaces.bootstrap import Container


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_session_is_found_by_its_id_until_it_expires_or_ends(container: Container) -> None:
    clock = Clock()
    sessions = BrowserSessions(container.db, clock, timedelta(hours=1))
    session_id, record = sessions.open("ops", ["operator"], ["t1"])
    assert sessions.find(session_id) == record
    assert record.roles == ["operator"] and record.tenants == ["t1"] and record.expires_at.endswith("Z")
    assert sessions.find(session_id + "x") is None

    rows = container.db.fetchall("SELECT * FROM console_sessions")
    stored = repr(rows)
    assert session_id not in stored and csrf_of(session_id) not in stored  # only digests are kept

    clock.now += timedelta(minutes=59)
    assert sessions.find(session_id) is not None
    clock.now += timedelta(minutes=2)
    assert sessions.find(session_id) is None

    other, _ = sessions.open("ops", ["operator"], ["t1"])  # a login purges the expired rows
    assert len(container.db.fetchall("SELECT id_digest FROM console_sessions")) == 1
    assert sessions.close(other) is True
    assert sessions.find(other) is None and sessions.close(other) is False


def test_a_session_holds_across_another_process_on_the_same_database(settings: Settings) -> None:
    first = Container(settings)
    try:
        session_id, record = first.browser_sessions.open("aud", ["auditor"], ["*"])
    finally:
        first.close()
    second = Container(settings)
    try:
        assert second.browser_sessions.find(session_id) == record
        assert second.browser_sessions.close(session_id)
    finally:
        second.close()
