"""The task bus remembers a stream's chunks from its start, so a late joiner replays them in order."""

from __future__ import annotations

import asyncio
from typing import Any

from infrastructure.chunk_bus import ChunkBus


def received(bus: ChunkBus, key: str) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        sub = bus.subscribe(key, replay=True)
        await asyncio.sleep(0)
        messages = sub.drain()
        sub.close()
        return messages

    return asyncio.run(run())


def test_a_joiner_gets_the_chunks_since_the_stream_started_then_the_marker() -> None:
    bus = ChunkBus(None, None)  # type: ignore[arg-type] - in process only: no database needed
    bus.publish("t1", {"type": "status", "status": "running"})
    for n in range(3):
        bus.publish("t1", {"type": "chunk", "data": n, "done": False})
    bus.publish("t2", {"type": "chunk", "data": "other", "done": False})
    messages = received(bus, "t1")
    assert [m["data"] for m in messages if m["type"] == "chunk"] == [0, 1, 2]
    assert messages[-1] == {"type": "replayed", "key": "t1", "complete": True}


def test_a_stream_seen_from_its_middle_is_not_complete_and_an_unseen_one_is_unknown() -> None:
    bus = ChunkBus(None, None)  # type: ignore[arg-type]
    bus.publish("late", {"type": "chunk", "data": "x", "done": False})
    assert received(bus, "late") == [{"type": "replayed", "key": "late", "complete": False}]
    assert received(bus, "never") == [{"type": "replayed", "key": "never", "complete": None}]


def test_a_rerun_after_a_revert_starts_the_history_again() -> None:
    bus = ChunkBus(None, None)  # type: ignore[arg-type]
    bus.publish("t", {"type": "status", "status": "running"})
    bus.publish("t", {"type": "chunk", "data": "first try", "done": False})
    bus.publish("t", {"type": "status", "status": "running"})
    bus.publish("t", {"type": "chunk", "data": "second try", "done": False})
    chunks = [m["data"] for m in received(bus, "t") if m["type"] == "chunk"]
    assert chunks == ["second try"]


def test_a_subscription_with_accept_is_given_only_the_messages_it_wants() -> None:
    bus = ChunkBus(None, None)  # type: ignore[arg-type]

    async def run() -> list[dict[str, Any]]:
        sub = bus.subscribe("*", accept=lambda m: m.get("status") == "pending")
        bus.publish("t1", {"type": "status", "status": "claimed"})
        bus.publish("t2", {"type": "status", "status": "pending"})
        bus.publish("t3", {"type": "chunk", "data": "x", "done": False})
        sub.put({"key": "w1", "type": "handed"})  # put by hand: not the bus's to filter
        await asyncio.sleep(0)
        messages = sub.drain()
        sub.close()
        return messages

    assert [(m["key"], m.get("status", m["type"])) for m in asyncio.run(run())] == [
        ("t2", "pending"),
        ("w1", "handed"),
    ]
