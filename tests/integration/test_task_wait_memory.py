"""A long-poll on a task this replica saw open starts waiting without a read, and still answers with
the task's end when another replica ended it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from application.access import SYSTEM, Principal
from application.errors import NotFoundError
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

ALICE = Principal.of("alice", ["client"], ["*"])
BOB = Principal.of("bob", ["client"], ["*"])


@pytest.fixture
def replicas(settings: Settings) -> Iterator[tuple[Container, Container]]:
    a, b = Container(settings), Container(settings)
    a.start()
    b.start()
    try:
        yield a, b
    finally:
        b.close()
        a.close()


def claimed_task(a: Container) -> str:
    a.workers.register(SYSTEM, "w1", [{"name": "llm-w1", "model": "m"}])
    task = a.inference_tasks.enqueue(
        ALICE, llm_name="llm-w1", request={}, stream=False, agent_id=None, fail_fast=False
    )
    assert a.inference_tasks.claim(task["id"], "w1", "c1") is not None
    return str(task["id"])


def test_a_wait_on_a_remembered_task_answers_with_its_end_from_another_replica(
    replicas: tuple[Container, Container],
) -> None:
    a, b = replicas
    task_id = claimed_task(a)

    async def scenario() -> dict[str, object]:
        # No read: replica a remembers the claim it saved, and starts the wait from that.
        waiting = a.task_watch.wait_remembered(ALICE, task_id, 10_000)
        assert waiting is not None
        wait = asyncio.ensure_future(waiting())
        await asyncio.to_thread(
            b.inference_tasks.post_result, SYSTEM, task_id, "w1", status=None, body="done", error=None
        )
        return await asyncio.wait_for(wait, 5)

    done = asyncio.run(scenario())
    assert done["status"] == "completed" and done["responseBody"] == "done"


def test_a_remembered_task_is_not_waited_on_for_another_owner(replicas: tuple[Container, Container]) -> None:
    a, _ = replicas
    task_id = claimed_task(a)
    assert a.task_watch.wait_remembered(BOB, task_id, 10_000) is None
    with pytest.raises(NotFoundError):
        a.task_watch.read(BOB, task_id, 10_000)


def test_a_task_not_remembered_or_ended_is_read(replicas: tuple[Container, Container]) -> None:
    a, b = replicas
    task_id = claimed_task(a)
    assert b.task_watch.wait_remembered(ALICE, task_id, 10_000) is None  # b never saw it
    a.inference_tasks.post_result(SYSTEM, task_id, "w1", status=None, body="done", error=None)
    assert a.task_watch.wait_remembered(ALICE, task_id, 10_000) is None  # ended: read it
    record, waiting = a.task_watch.read(ALICE, task_id, 10_000)
    assert record["status"] == "completed" and waiting is None
