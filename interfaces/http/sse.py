"""Server-sent event responses: one place for framing, keep-alives and slow-client limits.

Framing, keep-alive pings and disconnect detection are `sse-starlette`'s (ADR 0008); a handler
returns `sse_response(events)` where `events` is an async iterable of `ServerSentEvent`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent

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


def sse_response(
    events: AsyncIterable[ServerSentEvent],
    *,
    keepalive: float = KEEPALIVE_SECONDS,
    send_timeout: float | None = SEND_TIMEOUT_SECONDS,
) -> EventSourceResponse:
    """A `text/event-stream` response with `: keepalive` comments and a send timeout."""
    return EventSourceResponse(
        events,
        ping=keepalive,
        ping_message_factory=_keepalive,
        send_timeout=send_timeout,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
