"""Waiting for an inference task: long-poll until terminal, or a stream of its chunks and statuses.

A waiter holds no thread while it waits: it awaits the task bus (a message per chunk and status
change, from any replica) and re-reads the store after each status message and on a timer, so a lost
message delays it, never loses the result.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread

from application.access import Principal
from application.dispatch import SubscribingBus
from application.inference_tasks import InferenceTaskUseCases
from domain.inference_task import HELD, TERMINAL


def terminal_event(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    status = record["status"]
    if status == "completed":
        return "completed", {"responseBody": record["responseBody"]}
    if status == "error":
        return "error", {"message": record["errorMessage"]}
    return "cancelled", {}


class TaskWaiters:
    def __init__(self, tasks: InferenceTaskUseCases, bus: SubscribingBus, poll_interval: float = 0.5) -> None:
        self.tasks = tasks
        self.bus = bus
        self.poll_interval = poll_interval
        # Waiters and streams being served now (a gauge in /metrics): they must end with their client.
        self.active = 0

    async def _get(self, principal: Principal, task_id: str) -> dict[str, Any]:
        return await to_thread.run_sync(lambda: self.tasks.get(principal, task_id))

    async def wait(
        self, principal: Principal, task_id: str, wait_ms: int, record: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The task once terminal, or as it is after `wait_ms`; `record` is the task as just read."""
        deadline = time.monotonic() + wait_ms / 1000
        # Subscribed before anything else: a terminal message published since `record` was read is
        # replayed to a new subscription by the bus, so none falls between the read and here.
        sub = self.bus.subscribe(task_id)
        self.active += 1
        try:
            if record is None:
                record = await self._get(principal, task_id)
            read_at = time.monotonic()
            while record["status"] not in TERMINAL:
                now = time.monotonic()
                if now >= deadline:
                    return await self._get(principal, task_id)
                if now - read_at >= self.poll_interval:
                    # The timer: a lost message delays the answer, never loses it.
                    record, read_at = await self._get(principal, task_id), time.monotonic()
                    continue
                message = await sub.get(min(deadline - now, self.poll_interval - (now - read_at)))
                if message is not None and "record" in message:
                    return dict(message["record"])
                # Chunks and non-terminal statuses: nothing to answer yet, and no need to read.
            return record
        finally:
            self.active -= 1
            sub.close()

    async def stream(
        self, principal: Principal, task_id: str, record: dict[str, Any] | None = None, replay: bool = False
    ) -> AsyncIterator[tuple[str, Any]]:
        """`chunk`, `status` (claimed/running) and finally one terminal event of the task.

        With `replay`, the chunks this replica saw before come first, then `replayed` `{complete}`.
        """
        sub = self.bus.subscribe(task_id, replay) if replay else self.bus.subscribe(task_id)
        self.active += 1
        try:
            if replay:
                # The replayed chunks are queued by now, the marker last: take them before anything.
                while (message := await sub.get(self.poll_interval)) is not None:
                    if message.get("type") == "chunk":
                        yield "chunk", {"data": message["data"]}
                    elif "record" in message:
                        record = dict(message["record"])
                    elif message.get("type") == "replayed":
                        yield "replayed", {"complete": message["complete"]}
                        break
            if record is None:
                record = await self._get(principal, task_id)
            last_status = "pending"
            while True:
                if record["status"] in TERMINAL:
                    for queued in sub.drain():
                        if queued.get("type") == "chunk":
                            yield "chunk", {"data": queued["data"]}
                        elif queued.get("type") == "replayed":
                            yield "replayed", {"complete": queued["complete"]}
                    yield terminal_event(record)
                    return
                if record["status"] != last_status:
                    last_status = record["status"]
                    if last_status in HELD:
                        yield "status", {"status": last_status, "claimedBy": record["claimedBy"]}
                message = await sub.get(self.poll_interval)
                if message is not None and message.get("type") == "chunk":
                    yield "chunk", {"data": message["data"]}
                    continue
                if message is not None and message.get("type") == "replayed":
                    yield "replayed", {"complete": message["complete"]}
                    continue
                if message is not None and "record" in message:
                    record = dict(message["record"])  # terminal: no need to read the store
                    continue
                if message is not None and message.get("status") in HELD:
                    if message["status"] != last_status:
                        last_status = message["status"]
                        yield "status", {"status": last_status, "claimedBy": message.get("claimedBy")}
                    continue
                record = await self._get(principal, task_id)
        finally:
            self.active -= 1
            sub.close()
