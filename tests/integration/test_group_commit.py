"""Group commit: concurrent saves share transactions, and a lost race is reported only to its caller."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from domain.errors import ConcurrencyError
from domain.inference_task import InferenceTask
from infrastructure.event_log import EventLog
from infrastructure.group_commit import GroupCommit
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


def test_concurrent_saves_all_land_in_fewer_transactions_with_their_own_positions(log: EventLog) -> None:
    saves = GroupCommit(log._save_now)
    tasks = [new_task() for _ in range(THREADS * 4)]
    start = threading.Barrier(THREADS)

    def save(n: int) -> list[int]:
        start.wait()
        return [p for task in tasks[n::THREADS] for p in saves.save(task)]

    with ThreadPoolExecutor(THREADS) as pool:
        positions = [p for chunk in pool.map(save, range(THREADS)) for p in chunk]
    assert len(set(positions)) == len(tasks)
    for task in tasks:
        assert log.position_of(task.id) in positions
        assert isinstance(log.get(task.id), InferenceTask)
    assert saves.batches < len(tasks)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_in_a_batch_only_the_loser_of_a_race_sees_the_conflict(log: EventLog) -> None:
    task = new_task()
    log.save(task)
    saves = GroupCommit(log._save_now)
    # Two copies of one task claimed at once (a race), beside unrelated new tasks.
    racers = [log.get(task.id) for _ in range(2)]
    for n, racer in enumerate(racers):
        racer.claim(f"w{n}", f"c{n}", datetime.now(UTC))
    others = [new_task() for _ in range(THREADS - 2)]
    start = threading.Barrier(THREADS)

    def save(aggregate: InferenceTask) -> str:
        start.wait()
        try:
            saves.save(aggregate)
        except ConcurrencyError:
            return "lost"
        return "saved"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(save, [*racers, *others]))
    assert sorted(outcomes[:2]) == ["lost", "saved"]
    assert outcomes[2:] == ["saved"] * len(others)
    assert all(isinstance(log.get(t.id), InferenceTask) for t in others)
    assert log.get(task.id).claimed_by in ("w0", "w1")
