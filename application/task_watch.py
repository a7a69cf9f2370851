"""Watching an inference task: read it now, wait until it ends, or follow it as a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

from application.access import Principal
from application.inference_tasks import InferenceTaskUseCases
from application.waiters import TaskWaiters
from domain.inference_task import TERMINAL


class TaskWatch:
    """One use case over the task's read and its waiter, so a handler calls one thing."""

    def __init__(self, tasks: InferenceTaskUseCases, waiters: TaskWaiters) -> None:
        self.tasks = tasks
        self.waiters = waiters

    def read(
        self, principal: Principal, task_id: str, wait_ms: int | None
    ) -> tuple[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]] | None]:
        """The task as it is, and (when `wait_ms` and not yet terminal) the wait for it to end."""
        record = self.tasks.get(principal, task_id)
        if not wait_ms or record["status"] in TERMINAL:
            return record, None
        return record, partial(self.waiters.wait, principal, record["id"], wait_ms, record)

    def wait_remembered(
        self, principal: Principal, task_id: str, wait_ms: int
    ) -> Callable[[], Awaitable[dict[str, Any]]] | None:
        """The wait for a task this replica saw open and the principal may read, with no read
        first (it answers with the record of the task's end, or reads the store on its timer and
        at its deadline); None when the store must be read (`read`). Does not block."""
        status = self.tasks.open_status(principal, task_id)
        if status is None:
            return None
        return partial(self.waiters.wait, principal, task_id, wait_ms, {"id": task_id, "status": status})

    def stream(self, principal: Principal, task_id: str) -> AsyncIterator[tuple[str, Any]]:
        """Its chunks and status changes, then one terminal event (not-found raised before any)."""
        record = self.tasks.get(principal, task_id)
        return self.waiters.stream(principal, record["id"], record)
