"""The retention sweep and the claim race, on SQLite and PostgreSQL, with a clock the test moves."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from application.access import SYSTEM, Principal
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.support.clock import ManualClock

CLIENT = Principal.of("alice", ["client"], ["*"])


@pytest.fixture
def app(clocked: Container) -> Container:
    return clocked


def test_silent_workers_go_inactive_and_their_tasks_go_back_to_pending(
    app: Container, clock: ManualClock
) -> None:
    app.workers.register(SYSTEM, "w1", [{"name": "llm-1", "model": "m"}])
    channel_id, pools = app.workers.bind(SYSTEM, "w1")
    task = app.inference_tasks.enqueue(
        CLIENT, llm_name="llm-1", request={}, stream=False, agent_id=None, fail_fast=True
    )
    assert app.inference_tasks.claim(task["id"], "w1", channel_id) is not None
    app.runner.catch_up()
    clock.advance(seconds=60)
    assert app.inference_sweeper.sweep()["inactive"] == 0
    clock.advance(seconds=31)
    result = app.inference_sweeper.sweep()
    assert result["inactive"] == 1 and result["reverted"] == 1
    assert app.inference_tasks.get(SYSTEM, task["id"])["status"] == "pending"
    app.runner.catch_up()
    view = app.workers.get(SYSTEM, "w1")
    assert view["status"] == "inactive" and view["bound"] is False
    assert view["llms"][0]["status"] == "inactive"
    app.workers.heartbeat(SYSTEM, "w1")
    assert app.workers.get(SYSTEM, "w1")["status"] == "active"


def test_pending_past_an_hour_expires_and_old_terminal_tasks_leave_the_views(
    app: Container, clock: ManualClock
) -> None:
    app.workers.register(SYSTEM, "w1", [{"name": "llm-1", "model": "m"}])
    task = app.inference_tasks.enqueue(
        CLIENT, llm_name="llm-1", request={}, stream=False, agent_id=None, fail_fast=False
    )
    app.runner.catch_up()
    clock.advance(minutes=59)
    app.workers.heartbeat(SYSTEM, "w1")
    assert app.inference_sweeper.sweep()["expired"] == 0
    clock.advance(minutes=2)
    app.workers.heartbeat(SYSTEM, "w1")
    assert app.inference_sweeper.sweep()["expired"] == 1
    expired = app.inference_tasks.get(CLIENT, task["id"])
    assert expired["status"] == "error" and expired["errorMessage"] == "expired in pending after 3600s"
    items, _ = app.inference_tasks.list_tasks(
        CLIENT, status=None, pool_name="llm-1", agent_id=None, limit=50, cursor=None, min_position=None
    )
    assert [t["id"] for t in items] == [task["id"]]
    clock.advance(days=8)
    assert app.inference_sweeper.sweep()["swept"] == 1
    items, _ = app.inference_tasks.list_tasks(
        CLIENT, status=None, pool_name="llm-1", agent_id=None, limit=50, cursor=None, min_position=None
    )
    assert items == []
    assert app.inference_tasks.get(CLIENT, task["id"])["status"] == "error"  # the log keeps it
    assert [llm["status"] for llm in app.workers.llms(SYSTEM, None)] == ["inactive"]  # silent for days
    clock.advance(hours=4, seconds=1)
    assert app.inference_sweeper.sweep()["swept"] == 1
    assert app.workers.llms(SYSTEM, None) == []  # inactive for 4 h: gone from the registry view


def test_exactly_one_of_sixteen_simultaneous_claims_of_a_task_wins(app: Container) -> None:
    app.workers.register(SYSTEM, "w1", [{"name": "llm-1", "model": "m"}])
    for _ in range(3):
        task = app.inference_tasks.enqueue(
            CLIENT, llm_name="llm-1", request={}, stream=False, agent_id=None, fail_fast=False
        )
        barrier = threading.Barrier(16, timeout=30)

        def claim(n: int, task_id: str = task["id"], barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()
            return app.inference_tasks.claim(task_id, f"w{n}", f"c{n}") is not None

        with ThreadPoolExecutor(16) as pool:
            wins = list(pool.map(claim, range(16)))
        assert wins.count(True) == 1


def test_gc_expires_an_old_pending_task_from_the_command_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from interfaces import cli

    past = ManualClock()
    past.advance(hours=-2)
    old = Container(settings, clock=past)
    old.start()
    old.workers.register(SYSTEM, "w1", [{"name": "llm-1", "model": "m"}])
    task = old.inference_tasks.enqueue(
        CLIENT, llm_name="llm-1", request={}, stream=False, agent_id=None, fail_fast=False
    )
    old.close()
    monkeypatch.setenv("AGENTRUN_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert cli.main(["gc", "--json"]) == 0
    assert '"expired":1' in capsys.readouterr().out
    again = Container(settings)
    try:
        assert (
            again.inference_tasks.get(SYSTEM, task["id"])["errorMessage"] == "expired in pending after 3600s"
        )
    finally:
        again.close()
