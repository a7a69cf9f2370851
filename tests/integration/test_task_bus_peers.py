"""A replica alone sends no NOTIFY for task messages; a second replica's hello turns them on at once."""

from __future__ import annotations

import asyncio

import orjson
import psycopg
import pytest

from infrastructure.chunk_bus import CHANNEL, PEER_CHECK
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.support.views import wait_until


def sent_keys(spy: psycopg.Connection[tuple[object, ...]], until_key: str) -> list[str]:
    """The keys of the task messages NOTIFYed (hellos as `hello`), up to and including `until_key`."""
    keys: list[str] = []
    for notification in spy.notifies(timeout=10):
        envelope = orjson.loads(notification.payload)
        keys.append("hello" if "hello" in envelope else envelope["k"])
        if keys[-1] == until_key:
            return keys
    raise AssertionError(f"{until_key} was never sent; saw {keys}")


@pytest.mark.parametrize("backend", ["postgres"])  # NOTIFY is PostgreSQL's
def test_a_lone_replica_keeps_its_messages_in_process_until_a_peer_says_hello(settings: Settings) -> None:
    a = Container(settings)
    a.start()
    try:
        with psycopg.connect(settings.database_url or "", autocommit=True) as spy:
            spy.execute(f"LISTEN {CHANNEL}")  # a plain session: not a replica's listener
            assert wait_until(lambda: not a.task_bus.peers, timeout=5 * PEER_CHECK), "a found a peer"
            a.task_bus.publish("alone", {"type": "status", "status": "claimed"})

            b = Container(settings)
            b.start()
            try:

                async def across() -> dict[str, object] | None:
                    sub = b.task_bus.subscribe("together")
                    assert await asyncio.to_thread(wait_until, lambda: a.task_bus.peers, 5.0)
                    a.task_bus.publish("together", {"type": "status", "status": "completed"})
                    return await sub.get(5)

                message = asyncio.run(across())
                assert message is not None and message["status"] == "completed"
                # What went out on the wire: hellos and the second message, never the first.
                keys = sent_keys(spy, "together")
                assert "alone" not in keys and "hello" in keys
            finally:
                b.close()
            assert wait_until(lambda: not a.task_bus.peers, timeout=5 * PEER_CHECK), "b still counted"
    finally:
        a.close()
