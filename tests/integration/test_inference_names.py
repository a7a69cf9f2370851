"""LLM name ownership is a compare-and-set on the name's own aggregate, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from application.access import SYSTEM
from domain.errors import ConflictError
from domain.llm_name import LlmName, llm_name_aggregate_id
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

RACERS = 16


@pytest.fixture
def app(settings: Settings) -> Iterator[Container]:
    c = Container(settings)
    c.start()
    yield c
    c.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_sixteen_workers_racing_for_one_new_name_leave_exactly_one_owner(app: Container) -> None:
    name = "llm-raced"
    start = threading.Barrier(RACERS)

    def register(n: int) -> str:
        start.wait()
        try:
            app.workers.register(SYSTEM, f"racer-{n}", [{"name": name, "model": "m"}])
        except ConflictError:
            return "409"
        return "200"

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(register, range(RACERS)))
    assert sorted(outcomes) == ["200"] + ["409"] * (RACERS - 1)
    winner = f"racer-{outcomes.index('200')}"
    owner = app.log.get(llm_name_aggregate_id(name))
    assert isinstance(owner, LlmName) and owner.worker_id == winner
    app.runner.catch_up()
    llms = [llm for llm in app.workers.llms(SYSTEM, None) if llm["name"] == name]
    assert [llm["workerId"] for llm in llms] == [winner]


def test_a_name_moves_to_another_worker_once_its_owner_stops_serving_it(app: Container) -> None:
    app.workers.register(SYSTEM, "first", [{"name": "llm-moving", "model": "m"}])
    with pytest.raises(ConflictError):
        app.workers.register(SYSTEM, "second", [{"name": "llm-moving", "model": "m"}])
    # The owner re-registers without the name: it is free for the next worker.
    app.workers.register(SYSTEM, "first", [{"name": "llm-other", "model": "m"}])
    record, _ = app.workers.register(SYSTEM, "second", [{"name": "llm-moving", "model": "m"}])
    assert [llm["name"] for llm in record["llms"]] == ["llm-moving"]
    owner = app.log.get(llm_name_aggregate_id("llm-moving"))
    assert isinstance(owner, LlmName) and owner.worker_id == "second"
    assert [type(e).__qualname__ for _, e in app.log.aggregate_events(owner.id, 0, 10)] == [
        "LlmName.Claimed",
        "LlmName.TakenOver",
    ]


def test_a_sticky_reconnect_keeps_its_names_without_new_events(app: Container) -> None:
    app.workers.register(SYSTEM, "sticky", [{"name": "llm-sticky", "model": "m"}])
    head = app.log.head()
    app.workers.register(SYSTEM, "sticky", [{"name": "llm-sticky", "model": "m"}])
    assert app.log.head() == head
