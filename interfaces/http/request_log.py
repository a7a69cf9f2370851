"""One log line a request: method, route template, status, milliseconds, principal, request id.

Plain ASGI (no BaseHTTPMiddleware: no extra task, no body buffering), inside `RequestContext`, so
the request id is current and the endpoint has named the caller by the time the line is written.
The line names the route template (`/api/v1/runs/{runId}`), never the path, query or headers, so no
token or id in a URL reaches the log; an unmatched path logs no route.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure import event_metadata
from interfaces.logs import FIELDS

log = logging.getLogger("agentrun.request")


class RequestLog:
    """ASGI middleware writing the request's line once its response is over (a stream's too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the application fails before it starts a response

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            _write(scope, status, time.perf_counter() - started)


def _write(scope: Scope, status: int, seconds: float) -> None:
    route = getattr(scope.get("route"), "path", None)
    current = event_metadata.current()
    fields = {
        "method": scope["method"],
        "route": route,
        "status": status,
        "ms": round(seconds * 1000, 2),
        "principal": current.actor,
        "requestId": current.request_id,
    }
    # Made by hand: `log.info` would walk the stack for the caller's line, half of this line's cost.
    record = log.makeRecord(
        log.name, logging.INFO, __file__, 0, "%s %s %d", (scope["method"], route or "-", status), None
    )
    setattr(record, FIELDS, fields)
    log.handle(record)
