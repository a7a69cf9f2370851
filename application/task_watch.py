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
        """The task as it is, and (when `wait_ms` and not yet terminal) the wait for it to end.

        A task this replica saw open, and the principal may read, is waited for without a read
        first: the wait answers with the record of its end (or reads the store at its deadline)."""
        if wait_ms:
            status = self.tasks.open_status(principal, task_id)
            if status is not None:
                seen = {"id": task_id, "status": status}
                return seen, partial(self.waiters.wait, principal, task_id, wait_ms, seen)
        record = self.tasks.get(principal, task_id)
        if not wait_ms or record["status"] in TERMINAL:
            return record, None
        return record, partial(self.waiters.wait, principal, record["id"], wait_ms, record)

    def stream(self, principal: Principal, task_id: str) -> AsyncIterator[tuple[str, Any]]:
        """Its chunks and status changes, then one terminal event (not-found raised before any)."""
        record = self.tasks.get(principal, task_id)
        return self.waiters.stream(principal, record["id"], record)
