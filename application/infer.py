"""Inference for a caller who waits: enqueue (or join by idempotency key), wait or stream, and let go.

One use case behind both the synchronous `/llms/{name}/infer` route and the OpenAI-compatible
`/v1/chat/completions`: the task is routed at enqueue by an LLM name or a pool name, the caller gets
its result or its chunks, and a caller that goes away cancels the task unless it asked to keep it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

import anyio
from anyio import to_thread

from application.access import Principal
from application.errors import NotFoundError
from application.inference_tasks import InferenceTaskUseCases
from application.inference_wire import pick_of_pool
from application.waiters import TaskWaiters
from application.workers import WorkerUseCases
from domain.inference_task import TERMINAL
from projections import worker_queries

WAIT_MS = 600_000
# How long a keyed caller that went away has to come back (the SDKs retry within a second or so).
RETRY_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class InferCall:
    """A caller's hold on one task: who asked, the task as enqueued or joined, what a disconnect does."""

    principal: Principal
    task: dict[str, Any]
    keep_on_disconnect: bool = False
    # Asked with an idempotency key: the caller means to retry, so a disconnect waits for it first.
    keyed: bool = False

    @property
    def task_id(self) -> str:
        return str(self.task["id"])


@dataclass(frozen=True)
class Chunk:
    """A chunk of the stream; `index` counts from 1 when the stream is known from its start."""

    index: int | None
    data: Any


@dataclass(frozen=True)
class Outcome:
    """The end of a stream: the task as it ended, and whether any chunk came before."""

    record: dict[str, Any]
    streamed: bool


class InferUseCase:
    def __init__(
        self,
        tasks: InferenceTaskUseCases,
        workers: WorkerUseCases,
        waiters: TaskWaiters,
        retry_grace: float = RETRY_GRACE_SECONDS,
    ) -> None:
        self.tasks = tasks
        self.workers = workers
        self.waiters = waiters
        self.retry_grace = retry_grace
        # Callers waiting on or streaming each task in this process, so a keyed retry keeps its task.
        self._attached: Counter[str] = Counter()

    def start(
        self,
        principal: Principal,
        *,
        model: str,
        request: Any,
        stream: bool,
        fail_fast: bool,
        idempotency_key: str | None = None,
        keep_on_disconnect: bool = False,
        wait_for_wake: bool = False,
    ) -> InferCall:
        """Queue the request for `model` (an LLM name, else a pool name), or join the keyed task.

        A hibernating LLM is asked to wake by the enqueue itself; `wait_for_wake` waits for its
        worker's answer first (and fails if it does not wake), as the synchronous infer route does.
        """

        def enqueue(name: str, or_pool: bool) -> dict[str, Any]:
            return self.tasks.enqueue(
                principal,
                llm_name=name,
                request=request,
                stream=stream,
                agent_id=None,
                fail_fast=fail_fast,
                idempotency_key=idempotency_key,
                or_pool=or_pool,
            )

        try:
            if not wait_for_wake:
                # The model is routed (LLM name, else pool) by the enqueue's own views read.
                task = enqueue(model, or_pool=True)
            else:
                llm_name = self._llm_for(model)
                if llm_name is None:
                    # Maybe registered a moment ago: read again once the views reach the head.
                    self.tasks.wait_for_views(None)
                    llm_name = self._llm_for(model)
                if llm_name is None:
                    raise NotFoundError(f"model {model} was not found")
                self.workers.ensure_awake(principal, llm_name)
                task = enqueue(llm_name, or_pool=False)
        except NotFoundError:
            raise NotFoundError(f"model {model} was not found", model=model) from None
        return InferCall(principal, task, keep_on_disconnect, keyed=idempotency_key is not None)

    def _llm_for(self, model: str) -> str | None:
        """The LLM named `model`, else one of the pool named `model` (bound first, then active)."""
        with self.tasks.views.read() as cur:
            if worker_queries.get_llm(cur, model) is not None:
                return model
            llm = pick_of_pool(worker_queries.llms_of_pool(cur, model))
        return llm["name"] if llm else None

    async def result(self, call: InferCall, wait_ms: int = WAIT_MS) -> dict[str, Any]:
        """The task once terminal (or as it is after `wait_ms`)."""
        self._attached[call.task_id] += 1
        try:
            return await self.waiters.wait(call.principal, call.task_id, wait_ms, call.task)
        finally:
            self._detach(call.task_id)

    async def stream(self, call: InferCall, after: int = 0) -> AsyncIterator[Chunk | Outcome]:
        """The task's chunks (those after the `after`th, when the stream is known from its start),
        then its `Outcome`."""
        frames = cast(
            AsyncGenerator[tuple[str, Any], None],
            self.waiters.stream(call.principal, call.task_id, call.task, replay=True),
        )
        self._attached[call.task_id] += 1
        try:
            # Closed with the caller's stream, so the bus subscription ends with it, not at collection.
            async with aclosing(frames), aclosing(self._items(call, frames, after)) as items:
                async for item in items:
                    yield item
        finally:
            self._detach(call.task_id)

    async def _items(
        self, call: InferCall, frames: AsyncGenerator[tuple[str, Any], None], after: int
    ) -> AsyncGenerator[Chunk | Outcome, None]:
        index: int | None = 0
        streamed = False
        started = call.task.get("streamStartedAt") is not None
        async for name, payload in frames:
            if name == "replayed":
                known = payload["complete"] or (payload["complete"] is None and not started)
                index = index if known else None
            elif name == "chunk":
                streamed = True
                if index is None:
                    yield Chunk(None, payload["data"])
                    continue
                index += 1
                if index > after:
                    yield Chunk(index, payload["data"])
            elif name in TERMINAL:
                ending = {"responseBody": payload.get("responseBody"), "errorMessage": payload.get("message")}
                yield Outcome({**call.task, **ending, "status": name}, streamed or after > 0)
                return

    async def abandon(self, call: InferCall) -> None:
        """The caller went away: cancel its task, unless it asked to keep it for a later join.

        A caller with an idempotency key gets `retry_grace` seconds to come back (a dropped
        connection); the task is kept if a retry joined it on this replica meanwhile.
        """
        if call.keep_on_disconnect:
            return
        if call.keyed:
            await anyio.sleep(self.retry_grace)
            if self._attached[call.task_id]:
                return
        await to_thread.run_sync(lambda: self.tasks.cancel(call.principal, call.task_id))

    def _detach(self, task_id: str) -> None:
        self._attached[task_id] -= 1
        if self._attached[task_id] <= 0:
            del self._attached[task_id]
