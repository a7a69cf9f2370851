"""A worker's channel: bind the worker, then the frames the dispatcher sends it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from application.access import Principal
from application.dispatch import Dispatcher
from application.workers import WorkerUseCases


class WorkerChannel:
    """Binds before the stream starts: a caller that sees the stream open sees the worker bound."""

    def __init__(self, workers: WorkerUseCases, dispatcher: Dispatcher) -> None:
        self.workers = workers
        self.dispatcher = dispatcher

    def open(self, principal: Principal, worker_id: str) -> AsyncIterator[tuple[str, Any]]:
        """Frames (`task`, `cancel`, `wake`) for the worker until its channel closes or is unbound."""
        channel_id, pools = self.workers.bind(principal, worker_id)
        return self.dispatcher.channel(worker_id, channel_id, pools)
