"""Server-sent event responses: one place for framing, keep-alives and slow-client limits.

Framing, keep-alive pings and disconnect detection are `sse-starlette`'s (ADR 0008); a handler
returns `sse_response(events)` where `events` is an async iterable of `ServerSentEvent`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

import anyio
import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

# The contract's upper bound; `AGENTRUN_SSE_KEEPALIVE` sets it per process (`HttpState.sse_keepalive`).
KEEPALIVE_SECONDS = 15.0
# A client that does not take a frame within this long is disconnected; it resumes by its last id.
SEND_TIMEOUT_SECONDS = 30.0

__all__ = ["ServerSentEvent", "event", "sse_response"]


def event(name: str, payload: Any, ident: str | int | None = None) -> ServerSentEvent:
    """One SSE frame with a JSON `data:` line."""
    return ServerSentEvent(
        orjson.dumps(payload).decode(), event=name, id=None if ident is None else str(ident)
    )


def _keepalive() -> ServerSentEvent:
    return ServerSentEvent(comment="keepalive")


class _AbortableEventSource(EventSourceResponse):
    """Ends the response at once when `abort` is set, even while a send waits on a slow client."""

    def __init__(self, *args: Any, abort: anyio.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.abort = abort

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                await self.abort.wait()
                group.cancel_scope.cancel()

            group.start_soon(watch)
            await super().__call__(scope, receive, send)
            group.cancel_scope.cancel()


def sse_response(
    events: AsyncIterable[ServerSentEvent],
    *,
    keepalive: float = KEEPALIVE_SECONDS,
    send_timeout: float | None = SEND_TIMEOUT_SECONDS,
    abort: anyio.Event | None = None,
) -> EventSourceResponse:
    """A `text/event-stream` response with `: keepalive` comments and a send timeout.

    Setting `abort` closes the connection without finishing the body: the client sees the stream
    break and reconnects with its last id.
    """
    options: dict[str, Any] = {
        "ping": keepalive,
        "ping_message_factory": _keepalive,
        "send_timeout": send_timeout,
        "headers": {"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    }
    if abort is not None:
        return _AbortableEventSource(events, abort=abort, **options)
    return EventSourceResponse(events, **options)
