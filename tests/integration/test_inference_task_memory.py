"""A replica's memory of a task's holder lets chunks skip the load, and never decides for a stale holder;
its memory of a task's owner lets a long-poll start waiting without a read."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from application.access import SYSTEM, Principal
from application.errors import NotFoundError
from domain.errors import TerminalStateError
from domain.inference_task import StaleAttemptError
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

CLIENT = Principal.of("alice", ["client"], ["*"])
OTHER = Principal.of("bob", ["client"], ["*"])


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


def claimed_task(a: Container) -> str:
    a.workers.register(SYSTEM, "w1", [{"name": "llm-w1", "model": "m"}])
    task = a.inference_tasks.enqueue(
        CLIENT, llm_name="llm-w1", request={}, stream=True, agent_id=None, fail_fast=False
    )
    assert a.inference_tasks.claim(task["id"], "w1", "c1") is not None
    return str(task["id"])


def write_elsewhere_before_the_next_save(
    monkeypatch: pytest.MonkeyPatch, a: Container, write: Callable[[], object]
) -> None:
    """Another replica's write lands between replica a's decision on its memory and a's save."""
    store = a.inference_tasks.store
    save = store.save

    def save_after_the_other_write(*aggregates: Any) -> list[int]:
        monkeypatch.setattr(store, "save", save)
        write()
        return save(*aggregates)

    monkeypatch.setattr(store, "save", save_after_the_other_write)


def first_chunks_out(
    a: Container, task_id: str, post: Callable[[], None]
) -> tuple[list[str], Exception | None]:
    """What replica a's bus carried for the task while `post` ran (statuses, and chunks "first"),
    and the error `post` raised."""

    async def run() -> tuple[list[str], Exception | None]:
        sub = a.task_bus.subscribe(task_id)
        error: Exception | None = None
        try:
            try:
                await asyncio.to_thread(post)
            except Exception as raised:  # noqa: BLE001 - the outcome under test
                error = raised
            # Deliveries were queued on this loop before `post` returned: one turn runs them.
            await asyncio.sleep(0)
            seen = [m.get("status") or m.get("data") for m in sub.drain()]
            return [x for x in seen if x in ("running", "first")], error
        finally:
            sub.close()

    return asyncio.run(run())


def test_a_first_chunk_sent_ahead_of_its_commit_is_refused_when_the_task_ended_meanwhile(
    replicas: tuple[Container, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    task_id = claimed_task(a)
    write_elsewhere_before_the_next_save(monkeypatch, a, lambda: b.inference_tasks.cancel(CLIENT, task_id))

    out, error = first_chunks_out(
        a, task_id, lambda: a.inference_tasks.post_chunk(SYSTEM, task_id, "w1", "first", False)
    )
    # It went out on the log's state when decided; the worker learns the task ended (409).
    assert out == ["running", "first"] and isinstance(error, TerminalStateError)
    task = a.inference_tasks.get(SYSTEM, task_id)
    assert task["status"] == "cancelled" and task["streamStartedAt"] is None


def test_a_first_chunk_sent_ahead_of_its_commit_stands_when_its_holder_kept_the_task(
    replicas: tuple[Container, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    task_id = claimed_task(a)
    # The same worker's next chunk, posted to replica b, records `running` there first.
    write_elsewhere_before_the_next_save(
        monkeypatch, a, lambda: b.inference_tasks.post_chunk(SYSTEM, task_id, "w1", "second", False)
    )

    out, error = first_chunks_out(
        a, task_id, lambda: a.inference_tasks.post_chunk(SYSTEM, task_id, "w1", "first", False)
    )
    assert error is None and out.count("first") == 1  # accepted, and not sent a second time
    task = a.inference_tasks.get(SYSTEM, task_id)
    assert task["status"] == "running" and task["claimedBy"] == "w1"


def test_a_wait_on_a_remembered_task_answers_with_its_end_from_another_replica(
    replicas: tuple[Container, Container],
) -> None:
    a, b = replicas
    task_id = claimed_task(a)

    async def scenario() -> dict[str, Any]:
        # No read: replica a remembers the claim it saved, and starts the wait from that.
        waiting = a.task_watch.wait_remembered(CLIENT, task_id, 10_000)
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
    assert a.task_watch.wait_remembered(OTHER, task_id, 10_000) is None
    with pytest.raises(NotFoundError):
        a.task_watch.read(OTHER, task_id, 10_000)


def test_a_task_not_remembered_or_ended_is_read(replicas: tuple[Container, Container]) -> None:
    a, b = replicas
    task_id = claimed_task(a)
    assert b.task_watch.wait_remembered(CLIENT, task_id, 10_000) is None  # b never saw it
    a.inference_tasks.post_result(SYSTEM, task_id, "w1", status=None, body="done", error=None)
    assert a.task_watch.wait_remembered(CLIENT, task_id, 10_000) is None  # ended: read it
    record, waiting = a.task_watch.read(CLIENT, task_id, 10_000)
    assert record["status"] == "completed" and waiting is None
