"""Event metadata through the real store: a group commit's leader keeps every caller's actor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from domain.inference_task import InferenceTask
from infrastructure.event_log import EventLog
from infrastructure.event_metadata import acting, metadata_of
from infrastructure.log_reader import LogReader
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

THREADS = 16


@pytest.fixture
def log(settings: Settings) -> Iterator[EventLog]:
    c = Container(settings)
    yield c.log
    c.close()


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
