"""The worker channel: claim pending tasks of the worker's pools and hand them over, live.

A channel lives on one replica. It learns of new tasks from the task bus (a message per status
change, across replicas by NOTIFY) and, as a fallback, by polling the pending-by-pool view. A fresh
task is claimed first by its preferred worker (a stable hash over the pool's bound workers), which
spreads work; after a grace period any bound worker of the pool may take it. Claims are
compare-and-set, so a task reaches exactly one worker.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import anyio
from anyio import to_thread

from application.inference_tasks import InferenceTaskUseCases
from application.inference_wire import task_frame
from application.workers import WorkerUseCases
from domain.inference_task import HELD
from domain.timestamps import micros
from projections import inference_queries, worker_queries

CLAIM_BATCH = 20
CHANNEL_THREADS = 40


class Subscription(Protocol):
    async def get(self, timeout: float) -> dict[str, Any] | None: ...

    def drain(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class SubscribingBus(Protocol):
    def subscribe(self, key: str, replay: bool = False) -> Subscription: ...


def preferred(task_id: str, bound: list[str]) -> str | None:
    """The bound worker a fresh task goes to first: stable across replicas."""
    if not bound:
        return None
    return sorted(bound)[zlib.crc32(task_id.encode()) % len(bound)]


class Dispatcher:
    def __init__(
        self,
        tasks: InferenceTaskUseCases,
        workers: WorkerUseCases,
        bus: SubscribingBus,
        poll_interval: float = 0.5,
        grace: float = 0.5,
    ) -> None:
        self.tasks = tasks
        self.workers = workers
        self.bus = bus
        self.poll_interval = poll_interval
        self.grace = grace
        # Channel store I/O runs in its own thread pool, so a busy channel never starves request handlers.
        self._threads = anyio.CapacityLimiter(CHANNEL_THREADS)

    async def channel(
        self, worker_id: str, channel_id: str, pools: list[str]
    ) -> AsyncIterator[tuple[str, Any]]:
        """Frames (`task`, `cancel` or `wake`, payload) for a bound channel, until it closes or is unbound."""
        sub = self.bus.subscribe("*")
        held: set[str] = set()
        sent_wakes: set[str] = set()
        last_poll = 0.0
        waiting: dict[str, Any] | None = None
        bound: dict[str, list[str]] = {}
        try:
            # Tasks enqueued before the bind are found by the first poll once the views have them;
            # views lagging past the read timeout (a loaded replica) only delay that first poll's
            # finds to a later poll: they must not end a channel the worker just opened.
            await self._run(self.tasks.views_reached, None)
            while True:
                announced: dict[str, str] = {}
                messages = ([waiting] if waiting else []) + sub.drain()
                waiting = None
                for message in messages:
                    key = message["key"]
                    status = message.get("status")  # chunks carry none: only status changes count
                    if key in held and status is not None and status not in HELD:
                        held.discard(key)
                        if status == "cancelled":
                            # The backend should stop generating what nobody will read.
                            yield "cancel", {"taskId": key}
                    if message.get("status") == "pending" and message.get("poolName") in pools:
                        announced[key] = message["poolName"]
                candidates: list[str] = []
                now = time.monotonic()
                if now - last_poll >= self.poll_interval:
                    last_poll = now
                    current, wakes = await self._run(self.workers.channel_current, worker_id, channel_id)
                    if not current:
                        return
                    for llm_name, wake_id in sorted(wakes.items()):
                        if wake_id not in sent_wakes:
                            sent_wakes.add(wake_id)
                            yield "wake", {"wakeId": wake_id, "llmName": llm_name}
                    candidates, bound = await self._run(self._pending, worker_id, pools, announced)
                elif announced:
                    candidates = self._preferred(worker_id, announced, bound)
                if candidates:
                    for frame in await self._run(self._claim, worker_id, channel_id, candidates):
                        held.add(frame["taskId"])
                        yield "task", frame
                    continue
                waiting = await sub.get(max(0.0, self.poll_interval - (time.monotonic() - last_poll)))
        finally:
            with anyio.CancelScope(shield=True):
                await self._run(self.workers.unbind, worker_id, channel_id, "channel closed", frozenset(held))
            sub.close()

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await to_thread.run_sync(lambda: fn(*args), limiter=self._threads)

    def _bound(self, pools: list[str], worker_id: str) -> dict[str, list[str]]:
        with self.tasks.views.read() as cur:
            bound = {pool: worker_queries.bound_workers_of_pool(cur, pool) for pool in pools}
        for workers in bound.values():
            if worker_id not in workers:
                workers.append(worker_id)
        return bound

    @staticmethod
    def _preferred(worker_id: str, announced: dict[str, str], bound: dict[str, list[str]]) -> list[str]:
        """Of the announced tasks (id -> pool), those this worker should take first."""
        return [t for t, pool in announced.items() if preferred(t, bound.get(pool, [])) == worker_id]

    def _pending(
        self, worker_id: str, pools: list[str], announced: dict[str, str]
    ) -> tuple[list[str], dict[str, list[str]]]:
        """Pending tasks of the pools, oldest first: this worker's own, and any past the grace period."""
        bound = self._bound(pools, worker_id)
        old = micros(self.tasks.clock()) - int(self.grace * 1_000_000)
        with self.tasks.views.read() as cur:
            rows = inference_queries.pending_rows(cur, pools, 200)
        picked = [
            r["id"]
            for r in rows
            if r["created_us"] < old or preferred(r["id"], bound[r["pool_name"]]) == worker_id
        ]
        extra = self._preferred(worker_id, {t: p for t, p in announced.items() if t not in picked}, bound)
        return picked + extra, bound

    def _claim(self, worker_id: str, channel_id: str, candidates: list[str]) -> list[dict[str, Any]]:
        ids = list(dict.fromkeys(candidates))
        # A backlog is claimed in batches: one save (one compare-and-set per task) for many tasks.
        claimed = [
            t
            for i in range(0, len(ids), CLAIM_BATCH)
            for t in self.tasks.claim_many(ids[i : i + CLAIM_BATCH], worker_id, channel_id)
        ]
        return [task_frame(task) for task in claimed]
