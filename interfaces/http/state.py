"""What the HTTP side of one process holds: metrics, SSE keep-alive, thread limiters, the tail hub."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
