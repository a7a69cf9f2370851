"""What the HTTP side of one process holds: metrics, SSE keep-alive, thread limiters, the tail hub."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from anyio import CapacityLimiter

from interfaces.http.metrics import Metrics
from interfaces.http.openai.responses import ServerStopping
from interfaces.http.per_loop import PerLoop
from interfaces.http.tail_hub import TailHub

if TYPE_CHECKING:
    from interfaces.bootstrap import Container

# Health answers on threads of its own while every handler thread is busy (ADR 0032).
OWN_THREADS = 4
# Catch-up reads of live tails run on their own threads, so many tails cannot starve handlers.
TAIL_READER_THREADS = 8
# Handlers run in threads and a read may wait up to 5 s for the views: allow many of them.
HANDLER_THREADS = 100

T = TypeVar("T")


class HttpState:
    """Built by the container with it; an app over the container uses these, never globals."""

    def __init__(self, container: Container) -> None:
        self.metrics = Metrics(container)
        self.sse_keepalive: float = container.settings.sse_keepalive
        self.own_threads = CapacityLimiter(OWN_THREADS)
        self.tail_readers = CapacityLimiter(TAIL_READER_THREADS)
        event_log, signal = container.event_log, container.events_signal
        buffer = container.settings.tail_buffer
        self.tail_hubs: PerLoop[TailHub] = PerLoop(lambda: TailHub(event_log, signal, buffer))
        self.stopping = ServerStopping()
        self._handlers = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="agentrun-handler")

    async def in_handler_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a handler thread, in this request's context (its actor and request id).

        The event loop's own executor hand-off: anyio's `to_thread` (Starlette's
        `run_in_threadpool`) spent a tenth of a one-event append's server CPU on its limiter,
        cancel scopes and backend lookups (ADR 0037)."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._handlers, context.run, fn, *args)

    def close(self) -> None:
        self._handlers.shutdown(wait=False)
