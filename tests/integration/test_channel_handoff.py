"""An enqueue hands a fresh task to its first worker's channel when that channel is on this replica:
claimed in the enqueue's own save, the frame sent by the channel, never stranded when it closes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from application.access import SYSTEM, Principal
from interfaces.bootstrap import Container

CLIENT = Principal.of("alice", ["client"], ["*"])
ENQUEUERS = 8


def enqueue(container: Container, llm: str = "llm-w1") -> dict[str, Any]:
    return container.inference_tasks.enqueue(
        CLIENT, llm_name=llm, request={}, stream=False, agent_id=None, fail_fast=False
    )


async def next_task(frames: AsyncIterator[tuple[str, Any]]) -> dict[str, Any]:
    async with asyncio.timeout(10):
        async for name, frame in frames:
            if name == "task":
                return dict(frame)
    raise AssertionError("the channel ended")


async def open_channel(container: Container) -> AsyncIterator[tuple[str, Any]]:
    """w1's channel, once it takes hand-offs: it sent the task queued before it opened (its first
    poll, which also offers the channel to enqueues)."""
    container.workers.register(SYSTEM, "w1", [{"name": "llm-w1", "model": "m"}])
    earlier = enqueue(container)
    frames = container.worker_channel.open(SYSTEM, "w1")
    assert (await next_task(frames))["taskId"] == earlier["id"]
    return frames


def test_an_enqueue_claims_for_a_channel_here_in_its_own_save(container: Container) -> None:
    async def scenario() -> None:
        frames = await open_channel(container)
        try:
            task = await asyncio.to_thread(enqueue, container)
            # The record is the enqueue's save: the claim was in it.
            assert (task["status"], task["claimedBy"]) == ("claimed", "w1")
            assert (await next_task(frames))["taskId"] == task["id"]
        finally:
            await frames.aclose()  # type: ignore[attr-defined]
        # Closing the channel put what it held back in the queue.
        assert container.inference_tasks.get(SYSTEM, task["id"])["status"] == "pending"

    asyncio.run(scenario())


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_channel_closing_under_concurrent_enqueues_strands_no_task(container: Container) -> None:
    """Threads enqueue while the channel closes: each task handed to it was sent and put back on
    close, or found no channel; none stays claimed by a channel that is gone."""
    stop = threading.Event()
    queued: list[str] = []

    def enqueue_until_stopped() -> None:
        while not stop.is_set():
            queued.append(enqueue(container)["id"])

    async def scenario() -> None:
        frames = await open_channel(container)
        with ThreadPoolExecutor(ENQUEUERS) as pool:
            for _ in range(ENQUEUERS):
                pool.submit(enqueue_until_stopped)
            try:
                for _ in range(20):  # hand-offs flowing before the close
                    await next_task(frames)
                await frames.aclose()  # type: ignore[attr-defined]
                # Enqueues after the close find no channel here: they queue pending.
                count = len(queued)
                while len(queued) < count + ENQUEUERS:
                    await asyncio.sleep(0.01)
            finally:
                stop.set()

    asyncio.run(scenario())
    statuses = {container.inference_tasks.get(SYSTEM, task_id)["status"] for task_id in queued}
    assert statuses == {"pending"}, statuses
