"""Inference task use cases: enqueue, read, list, cancel, and the worker's chunks and result."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, Protocol

from application import access
from application.access import Principal
from application.base import UseCases
from application.errors import NotFoundError, UnavailableError
from application.inference_wire import Bus, error_of, task_frame, task_record
from application.llm_routes import LlmRoutes
from application.retry import decide_remembered, retry_on_conflict
from application.task_memory import TaskMemory
from domain.errors import ConcurrencyError, SchemaInvalidError
from domain.inference_task import STATUSES, TERMINAL, InferenceTask, NotClaimableError, inference_task_id
from domain.redaction import redact
from domain.worker import Worker, worker_aggregate_id
from projections import inference_counts, inference_queries


class Handoff(Protocol):
    """A bound channel of this replica, reserved for one fresh task: the enqueue claims the task for
    it in the enqueue's own save, then hands it the frame (None: nothing was saved)."""

    worker_id: str
    channel_id: str

    def done(self, frame: dict[str, Any] | None) -> None: ...


class InferenceTaskUseCases(UseCases):
    reads = ("inference_tasks", "worker_registry")

    def __init__(self, *, bus: Bus, request_wake: Callable[[str], str | None] | None = None, **common: Any):
        super().__init__(**common)
        self.bus = bus
        self.request_wake = request_wake
        # The dispatcher's: the local channel a fresh task of a pool goes to first, if on this replica.
        self.hand_off: Callable[[str, str], Handoff | None] | None = None
        self.routes = LlmRoutes(self.views)
        self._memory = TaskMemory()
        self._worker_owners: dict[str, str] = {}

    # -- the caller's side ------------------------------------------------------------

    def enqueue(
        self,
        principal: Principal,
        *,
        llm_name: str,
        request: Any,
        stream: bool,
        agent_id: str | None,
        fail_fast: bool,
        idempotency_key: str | None = None,
        or_pool: bool = False,
    ) -> dict[str, Any]:
        """Queue a task for the LLM `llm_name` (with `or_pool`, else for the pool of that name);
        with an idempotency key, a repeat joins the task the first call queued."""
        principal.require(access.INFERENCE_CREATE)
        request = redact(request)
        task_id = inference_task_id(principal.name, idempotency_key)
        if idempotency_key is not None:
            joined = self._join(task_id, request, stream)
            if joined is not None:
                return joined
        llm, bound = self.routes.route(llm_name, fail_fast, or_pool)
        if llm is None or (fail_fast and not bound):
            # Maybe registered or bound a moment ago: read again once the views reach the head.
            self.wait_for_views(None)
            llm, bound = self.routes.route(llm_name, fail_fast, or_pool)
        if llm is None:
            raise NotFoundError(f"llm {llm_name} was not found")
        pool, llm_name = llm["poolName"], llm["name"]
        if fail_fast and not bound:
            raise UnavailableError(f"no worker is bound for pool {pool!r}", poolName=pool)
        if llm["status"] == "hibernating" and self.request_wake is not None:
            self.request_wake(llm_name)
        now = self.clock()
        task = InferenceTask.enqueue(
            pool_name=pool,
            llm_name=llm_name,
            model=llm["model"],
            tier=llm["tier"],
            request_body=request,
            streaming=stream,
            owner_id=principal.name,
            agent_id=agent_id,
            now=now,
            task_id=task_id,
        )
        handoff = self.hand_off(pool, task_id) if self.hand_off is not None else None
        if handoff is not None:
            # Its first worker's channel is here: claimed in the same save, no hop through the bus.
            task.claim(handoff.worker_id, handoff.channel_id, now)
        try:
            record = self._saved(task)
        except ConcurrencyError:
            if handoff is not None:
                handoff.done(None)
            # Two enqueues with one key race on the same aggregate id: the loser joins the winner.
            joined = self._join(task_id, request, stream) if idempotency_key is not None else None
            if joined is None:
                raise
            return joined
        except BaseException:
            if handoff is not None:
                # The save may have landed: the worker gets the frame (a task that is not there
                # answers its result with not-found), never a task claimed for it that it never saw.
                handoff.done(task_frame(task))
            raise
        if handoff is not None:
            handoff.done(task_frame(task))
        return record

    def _join(self, task_id: str, request: Any, stream: bool) -> dict[str, Any] | None:
        """The task an earlier call with the same key queued, if any; another request is a conflict."""
        existing = self.store.get(task_id)
        if not isinstance(existing, InferenceTask):
            return None
        existing.check_same_request(request, stream)
        return self._record(existing)

    def get(self, principal: Principal, task_id: str) -> dict[str, Any]:
        """The task, or not-found when it is missing or another owner's (for a caller)."""
        if not principal.can(access.INFERENCE_READ_ALL):
            principal.require(access.INFERENCE_READ_OWN)
        # A read, not a load: the aggregate and the position of its last event in one query, no copy.
        task, position, _ = self.store.read(task_id)
        if not isinstance(task, InferenceTask) or not self._sees(principal, task):
            raise NotFoundError(f"inference task {task_id} was not found")
        return self._record(task, position)

    def open_status(self, principal: Principal, task_id: str) -> str | None:
        """The status this replica last saw of a task not yet terminal that the principal may read;
        None when it does not know (the caller reads the store). An owner never changes and a task
        is never deleted from the log, so what it says of those is exact; the status may be stale,
        so it only lets a waiter start waiting without a read: the waiter's timer reads the store."""
        seen = self._memory.get(task_id)
        if seen is None or seen.status in TERMINAL:
            return None
        if principal.can(access.INFERENCE_READ_ALL) or (
            principal.can(access.INFERENCE_READ_OWN) and seen.owner_id == principal.name
        ):
            return seen.status
        return None

    def _writable(self, task_id: str, remembered: bool) -> InferenceTask:
        """The task a worker writes to; `remembered`: this replica's memory of it (may be stale)."""
        task = self.store.get(task_id, remembered=remembered)
        if not isinstance(task, InferenceTask):
            raise NotFoundError(f"inference task {task_id} was not found")
        return task

    def check_worker_owner(self, principal: Principal, worker_id: str) -> None:
        """Not-found unless the worker exists and the principal registered it."""
        owner = self._worker_owners.get(worker_id)
        if owner is None:
            worker = self.store.get(worker_aggregate_id(worker_id))
            owner = worker.owner if isinstance(worker, Worker) else None
            if owner is not None:  # an owner never changes once recorded: safe to remember
                self._worker_owners[worker_id] = owner
        access.check_owner(principal, owner is not None and owner == principal.name, "worker", worker_id)

    def cancel(self, principal: Principal, task_id: str) -> dict[str, Any]:
        """Cancel the task: a client its own, an operator any."""
        if not principal.can(access.INFERENCE_CANCEL_ALL):
            principal.require(access.INFERENCE_CANCEL_OWN)

        def attempt() -> dict[str, Any]:
            task = self.store.get(task_id)
            if not isinstance(task, InferenceTask) or not (
                principal.can(access.INFERENCE_CANCEL_ALL) or task.owner_id == principal.name
            ):
                raise NotFoundError(f"inference task {task_id} was not found")
            if not task.cancel(principal.name, self.clock()):
                return self._record(task)
            return self._saved(task)

        return retry_on_conflict(attempt)

    def list_tasks(
        self,
        principal: Principal,
        *,
        status: str | None,
        pool_name: str | None,
        agent_id: str | None,
        limit: int,
        cursor: str | None,
        min_position: int | None,
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        sees_all = principal.can(access.INFERENCE_READ_ALL)
        if not sees_all:
            principal.require(access.INFERENCE_READ_OWN)
        if status is not None and status not in STATUSES:
            raise SchemaInvalidError(f"unknown status {status!r}", allowed=list(STATUSES))
        self.wait_for_views(min_position)
        owner = None if sees_all else principal.name
        with self.views.read() as cur:
            try:
                return inference_queries.list_tasks(
                    cur,
                    owner_id=owner,
                    status=status,
                    pool_name=pool_name,
                    agent_id=agent_id,
                    limit=limit,
                    cursor=cursor,
                )
            except ValueError as error:
                raise SchemaInvalidError(str(error)) from error

    def counts(self, principal: Principal, min_position: int | None) -> dict[str, int]:
        """Tasks by status (the caller's own unless it reads all), from counters."""
        sees_all = principal.can(access.INFERENCE_READ_ALL)
        if not sees_all:
            principal.require(access.INFERENCE_READ_OWN)
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            return inference_counts.counts(cur, None if sees_all else principal.name, STATUSES)

    # -- the worker's side ------------------------------------------------------------

    def claim(self, task_id: str, worker_id: str, channel_id: str) -> InferenceTask | None:
        """Claim a pending task by compare-and-set; None when another worker won or it is not pending."""
        task = self.store.get(task_id)
        if not isinstance(task, InferenceTask):
            return None
        try:
            task.claim(worker_id, channel_id, self.clock())
            self._saved(task)
        except (NotClaimableError, ConcurrencyError):
            return None
        return task

    def claim_many(
        self, task_ids: builtins.list[str], worker_id: str, channel_id: str
    ) -> builtins.list[InferenceTask]:
        """Claim several pending tasks in one save; on a lost race, one by one (losers are skipped)."""
        now = self.clock()
        tasks = []
        for task_id in dict.fromkeys(task_ids):
            # The enqueue on this replica saved it: its memory saves a load (stale: a lost race).
            task = self.store.get(task_id, remembered=True)
            if not isinstance(task, InferenceTask) or task.status != "pending":
                task = self.store.get(task_id)
            if isinstance(task, InferenceTask) and task.status == "pending":
                task.claim(worker_id, channel_id, now)
                tasks.append(task)
        if not tasks:
            return []
        try:
            positions = self.store.save(*tasks)
        except ConcurrencyError:
            # Someone else claimed one (or a handed-over task was stale): one by one, freshly loaded.
            claimed = (self.claim(t.id, worker_id, channel_id) for t in tasks)
            return [t for t in claimed if t is not None]
        # One new event per task, in the order saved.
        for task, position in zip(tasks, positions, strict=True):
            self._announce(task, self._record(task, position))
        return tasks

    def post_chunk(self, principal: Principal, task_id: str, worker_id: str, data: Any, done: bool) -> None:
        """Pass a chunk on; the first one records that the task runs. Only the holder may post."""
        principal.require(access.WORKER)
        self.check_worker_owner(principal, worker_id)
        chunk = {"type": "chunk", "data": data, "done": done}
        seen = self._memory.held(task_id, worker_id)
        # Running on this worker as last seen, and no event since: what a load would decide (accept).
        if seen is not None and seen.status == "running" and self.store.position_of(task_id) == seen.position:
            self.bus.publish(task_id, chunk)
            return

        def attempt(remembered: bool) -> None:
            task = self._writable(task_id, remembered)
            if task.start_streaming(worker_id, self.clock()):
                self._saved(task)  # on a stale memory, a lost compare-and-set
            elif remembered:
                # Accepting without a save is a decision no compare-and-set checks: read first.
                raise ConcurrencyError("a remembered task decides nothing unsaved")

        with self.store.writing(task_id):
            try:
                if self._first_chunk_on_memory(task_id, worker_id, chunk):
                    return
            except ConcurrencyError:
                # The chunk went out on the log's state; the task moved on before `running` landed.
                retry_on_conflict(lambda: attempt(False))
                return
            decide_remembered(attempt)
        self.bus.publish(task_id, chunk)

    def _first_chunk_on_memory(self, task_id: str, worker_id: str, chunk: dict[str, Any]) -> bool:
        """The first chunk of a task this replica saw claimed by the worker, with no event since (one
        indexed lookup): `running` and the chunk go out first, its commit lands after, off the
        caller's path. False when the memory cannot decide (the caller loads)."""
        seen = self._memory.held(task_id, worker_id)
        if seen is None or self.store.position_of(task_id) != seen.position:
            return False
        task = self.store.get(task_id, remembered=True)
        if not isinstance(task, InferenceTask) or task.version != seen.version:
            return False
        now = self.clock()
        if not task.start_streaming(worker_id, now):
            self.bus.publish(task_id, chunk)
            return True
        self._announce(task)
        self.bus.publish(task_id, chunk)
        self._record(task, max(self.store.save(task)))
        return True

    def post_result(
        self,
        principal: Principal,
        task_id: str,
        worker_id: str,
        *,
        status: str | None,
        body: Any,
        error: str | None,
    ) -> dict[str, Any]:
        principal.require(access.WORKER)
        self.check_worker_owner(principal, worker_id)

        def attempt(remembered: bool) -> dict[str, Any]:
            now = self.clock()
            task = self._writable(task_id, remembered)
            if task.is_terminal:
                return self._record(task)  # terminal is final: a remembered one is the current one
            if error is not None or status == "error":
                message = error if error is not None else error_of(body)
                changed = task.fail(worker_id, message, now, response_body=body)
            else:
                changed = task.complete(worker_id, body, now)
            return self._saved(task) if changed else self._record(task)

        with self.store.writing(task_id):
            return decide_remembered(attempt)

    def revert(self, task_id: str, worker_id: str, channel_id: str | None, reason: str) -> bool:
        """Put a task the worker held (over that channel) back in the queue."""

        def attempt() -> bool:
            task = self.store.get(task_id)
            if not isinstance(task, InferenceTask) or not task.revert(
                worker_id, channel_id, reason, self.clock()
            ):
                return False
            self._saved(task)
            return True

        return retry_on_conflict(attempt)

    def expire(self, task_id: str, after_seconds: int) -> bool:
        def attempt() -> bool:
            task = self.store.get(task_id)
            if not isinstance(task, InferenceTask) or not task.expire(after_seconds, self.clock()):
                return False
            self._saved(task)
            return True

        return retry_on_conflict(attempt)

    def held_by(self, worker_id: str) -> list[str]:
        with self.views.read() as cur:
            return inference_queries.held_by(cur, worker_id)

    # -- helpers ----------------------------------------------------------------------

    def _sees(self, principal: Principal, task: InferenceTask) -> bool:
        if principal.can(access.INFERENCE_READ_ALL):
            return True
        return task.owner_id == principal.name

    def _saved(self, task: InferenceTask) -> dict[str, Any]:
        record = self._record(task, max(self.store.save(task)))
        self._announce(task, record)
        return record

    def _record(self, task: InferenceTask, saved_at: int | None = None) -> dict[str, Any]:
        """The wire record; the position comes from the save or a memory of it, not a query each time."""
        position = saved_at if saved_at is not None else self._memory.position(task.id, task.version)
        if position is None:
            position = self.store.position_of(task.id)
        self._memory.put(task, position)
        return task_record(task, position)

    def _announce(self, task: InferenceTask, record: dict[str, Any] | None = None) -> None:
        """Tell waiters and channels on every replica that the task changed."""
        message: dict[str, Any] = {
            "type": "status",
            "status": task.status,
            "claimedBy": task.claimed_by,
            "poolName": task.pool_name,
        }
        if task.is_terminal and record is not None:
            message["record"] = record  # a waiter answers with it, without reading the store again
        self.bus.publish(task.id, message)
