"""Event metadata through the real store: a group commit's leader keeps every caller's actor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from application.access import SYSTEM
from application.event_log import EventFilter
from domain.inference_task import InferenceTask
from infrastructure.event_log import EventLog
from infrastructure.event_metadata import acting, metadata_of
from infrastructure.log_reader import LogReader
from infrastructure.log_transfer import import_log
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.unit.test_upcast import FIXTURE

THREADS = 16


@pytest.fixture
def store(settings: Settings) -> Iterator[Container]:
    c = Container(settings)
    yield c
    c.close()


@pytest.fixture
def log(store: Container) -> EventLog:
    return store.log


def new_task() -> InferenceTask:
    return InferenceTask.enqueue(
        pool_name="p", llm_name="l", model="m", tier=None, request_body={}, streaming=False,
        owner_id="o", agent_id=None, now=datetime.now(UTC),
    )  # fmt: skip


def test_events_saved_together_by_one_leader_each_name_their_own_caller(log: EventLog) -> None:
    tasks = [new_task() for _ in range(THREADS * 4)]
    start = threading.Barrier(THREADS)

    def save(n: int) -> None:
        with acting(f"actor-{n}", f"req-{n}"):
            start.wait()
            for task in tasks[n::THREADS]:
                log.save(task)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(save, range(THREADS)))
    assert log.group.batches < len(tasks), "some transactions held several callers' events"
    stored = {event.originator_id: metadata_of(event) for _, event in LogReader(log).read(0, 10_000)}
    for n in range(THREADS):
        for task in tasks[n::THREADS]:
            assert stored[task.id] == {"actor": f"actor-{n}", "requestId": f"req-{n}"}


def test_a_save_outside_any_request_is_the_systems(log: EventLog) -> None:
    task = new_task()
    log.save(task)
    (_, event), *_ = LogReader(log).aggregate(task.id)
    assert metadata_of(event) == {"actor": "system", "requestId": None}


def test_events_stored_before_metadata_read_back_with_null_actor_and_request_id(store: Container) -> None:
    # The fixture is an export of two events stored before ADR 0030 (no metadata in their state).
    with FIXTURE.open("rb") as source:
        assert import_log(store.log, source) == 2
    page = store.event_log.page(SYSTEM, 0, 10, EventFilter())
    assert [(i["type"], i["actor"], i["requestId"]) for i in page["items"]] == [
        ("Ticket.Opened", None, None),
        ("Ticket.Assigned", None, None),
    ]
    history = store.audit.audit(SYSTEM, "ticket-1")["history"]
    assert [(h["actor"], h["requestId"]) for h in history] == [(None, None), (None, None)]
    assert history[-1]["data"]["assignees"] == ["ada"]
