"""A replica's memory of a task's holder lets chunks skip the load, and never decides for a stale holder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.access import SYSTEM, Principal
from domain.errors import TerminalStateError
from domain.inference_task import StaleAttemptError
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

CLIENT = Principal.of("alice", ["client"], ["*"])


@pytest.fixture
def replicas(settings: Settings) -> Iterator[tuple[Container, Container]]:
    a, b = Container(settings), Container(settings)
    a.start()
    try:
        yield a, b
    finally:
        b.close()
        a.close()


def streaming_task(a: Container) -> str:
    """A task claimed by w1 on replica `a`, its first chunk posted there (so `a` remembers it running)."""
    for worker in ("w1", "w2"):
        a.workers.register(SYSTEM, worker, [{"name": f"llm-{worker}", "model": "m"}])
    task = a.inference_tasks.enqueue(
        CLIENT, llm_name="llm-w1", request={}, stream=True, agent_id=None, fail_fast=False
    )
    assert a.inference_tasks.claim(task["id"], "w1", "c1") is not None
    a.inference_tasks.post_chunk(SYSTEM, task["id"], "w1", "first", False)
    a.inference_tasks.post_chunk(SYSTEM, task["id"], "w1", "second", False)
    return str(task["id"])


def test_a_holder_remembered_by_one_replica_and_moved_by_another_is_refused_there(
    replicas: tuple[Container, Container],
) -> None:
    a, b = replicas
    task_id = streaming_task(a)
    # Replica b takes the task from w1 and gives it to w2, who starts streaming: a never heard of it.
    assert b.inference_tasks.revert(task_id, "w1", None, "worker went away")
    assert b.inference_tasks.claim(task_id, "w2", "c2") is not None
    b.inference_tasks.post_chunk(SYSTEM, task_id, "w2", "first", False)

    with pytest.raises(StaleAttemptError):
        a.inference_tasks.post_chunk(SYSTEM, task_id, "w1", "late", False)
    a.inference_tasks.post_chunk(SYSTEM, task_id, "w2", "next", False)
    with pytest.raises(StaleAttemptError):
        a.inference_tasks.post_result(SYSTEM, task_id, "w1", status=None, body="old", error=None)
    done = a.inference_tasks.post_result(SYSTEM, task_id, "w2", status=None, body="new", error=None)
    assert done["status"] == "completed" and done["responseBody"] == "new" and done["claimedBy"] == "w2"


def test_a_task_ended_on_another_replica_takes_no_more_chunks_from_its_holder(
    replicas: tuple[Container, Container],
) -> None:
    a, b = replicas
    task_id = streaming_task(a)
    assert b.inference_tasks.cancel(CLIENT, task_id)["status"] == "cancelled"

    with pytest.raises(TerminalStateError):
        a.inference_tasks.post_chunk(SYSTEM, task_id, "w1", "late", False)
    # A result after the end changes nothing and answers the task as it ended.
    late = a.inference_tasks.post_result(SYSTEM, task_id, "w1", status=None, body="late", error=None)
    assert late["status"] == "cancelled" and late["responseBody"] is None
