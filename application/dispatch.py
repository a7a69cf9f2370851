"""The worker channel: claim pending tasks of the worker's pools and hand them over, live.

A channel lives on one replica. It learns of new tasks from the task bus (a message per status
change, across replicas by NOTIFY) and, as a fallback, by polling the pending-by-pool view. A fresh
task is claimed first by its preferred worker (a stable hash over the pool's bound workers), which
spreads work; after a grace period any bound worker of the pool may take it. Claims are
compare-and-set, so a task reaches exactly one worker.

When that preferred worker's channel is on the replica that takes the enqueue, the enqueue claims
the task for it in its own save and hands the channel the frame (a `Handoff`): no second save and
no hop through the bus (ADR 0043). A channel that closes stops taking hand-offs first, then waits for
those in flight, so each task handed to it is either sent or put back in the queue with the rest.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable
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
# How long a closing channel waits for the enqueues saving a task claimed for it (seconds).
HANDOFF_DRAIN = 30.0


class Subscription(Protocol):
    async def get(self, timeout: float) -> dict[str, Any] | None: ...

    def drain(self) -> list[dict[str, Any]]: ...

    def put(self, message: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class SubscribingBus(Protocol):
    def subscribe(
        self, key: str, replay: bool = False, accept: Callable[[dict[str, Any]], bool] | None = None
    ) -> Subscription: ...


def preferred(task_id: str, bound: list[str]) -> str | None:
    """The bound worker a fresh task goes to first: stable across replicas."""
    if not bound:
        return None
    return sorted(bound)[zlib.crc32(task_id.encode()) % len(bound)]


class Handoff:
    """A bound channel of this replica as enqueues see it: they reserve it, claim a fresh task for it
    in their own save, and leave the frame here for the channel to send."""

    def __init__(self, worker_id: str, channel_id: str, wake: Callable[[], None]) -> None:
        self.worker_id = worker_id
        self.channel_id = channel_id
        # The workers bound to each of the channel's pools, as of its last poll.
        self.bound: dict[str, list[str]] = {}
        self._wake = wake
        self._cond = threading.Condition()
        self._open = True
        self._in_flight = 0
        self._frames: list[dict[str, Any]] = []

    def reserve(self) -> bool:
        with self._cond:
            if self._open:
                self._in_flight += 1
            return self._open

    def done(self, frame: dict[str, Any] | None) -> None:
        """The reserving enqueue finished: `frame` is the task it saved claimed (None: none saved)."""
        with self._cond:
            if frame is not None:
                self._frames.append(frame)
            self._in_flight -= 1
            self._cond.notify_all()
        if frame is not None:
            self._wake()

    def take(self) -> list[dict[str, Any]]:
        with self._cond:
            frames, self._frames = self._frames, []
        return frames

    def close(self) -> list[dict[str, Any]]:
        """Take no more; the frames not yet sent, once the enqueues in flight have saved."""
        with self._cond:
            self._open = False
            self._cond.wait_for(lambda: self._in_flight == 0, HANDOFF_DRAIN)
            frames, self._frames = self._frames, []
        return frames


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
        # The channels of this replica enqueues may hand tasks to: pool -> worker -> its channel.
        self._handoffs: dict[str, dict[str, Handoff]] = {}
        self._handoffs_lock = threading.Lock()

    def hand_off(self, pool: str, task_id: str) -> Handoff | None:
        """The channel of the worker a fresh task of `pool` goes to first, reserved, when that
        channel is on this replica; else None (that worker's own replica claims it, as ever)."""
        with self._handoffs_lock:
            local = self._handoffs.get(pool)
            if not local:
                return None
            bound = {w for handoff in local.values() for w in handoff.bound.get(pool, ())}
            handoff = local.get(preferred(task_id, sorted(bound)) or "")
        return handoff if handoff is not None and handoff.reserve() else None

    def _offer(self, handoff: Handoff, pools: list[str]) -> None:
        with self._handoffs_lock:
            for pool in pools:
                self._handoffs.setdefault(pool, {})[handoff.worker_id] = handoff

    def _withdraw(self, handoff: Handoff) -> None:
        with self._handoffs_lock:
            for pool, local in list(self._handoffs.items()):
                if local.get(handoff.worker_id) is handoff:
                    del local[handoff.worker_id]
                if not local:
                    del self._handoffs[pool]

    async def channel(
        self, worker_id: str, channel_id: str, pools: list[str]
    ) -> AsyncIterator[tuple[str, Any]]:
        """Frames (`task`, `cancel` or `wake`, payload) for a bound channel, until it closes or is unbound."""
        held: set[str] = set()

        def wanted(message: dict[str, Any]) -> bool:
            # Read in the publishers' threads: a new task of the channel's pools, a change of a
            # task it holds, any cancel (rare; one of a task just claimed may precede its `held`).
            status = message.get("status")
            if status == "pending":
                return message.get("poolName") in pools
            return status is not None and (status == "cancelled" or message["key"] in held)

        sub = self.bus.subscribe("*", accept=wanted)
        handoff = Handoff(worker_id, channel_id, lambda: sub.put({"key": worker_id, "type": "handed"}))
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
                # Held before the first is sent: a channel closed at a `yield` puts them all back.
                handed = handoff.take()
                held.update(frame["taskId"] for frame in handed)
                for frame in handed:
                    yield "task", frame
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
                    handoff.bound = bound
                    self._offer(handoff, pools)
                elif announced:
                    candidates = self._preferred(worker_id, announced, bound)
                if candidates:
                    claimed = await self._run(self._claim, worker_id, channel_id, candidates)
                    held.update(frame["taskId"] for frame in claimed)
                    for frame in claimed:
                        yield "task", frame
                    continue
                waiting = await sub.get(max(0.0, self.poll_interval - (time.monotonic() - last_poll)))
        finally:
            self._withdraw(handoff)
            with anyio.CancelScope(shield=True):
                held.update(frame["taskId"] for frame in await self._run(handoff.close))
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
