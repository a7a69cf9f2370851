"""Every HTTP request has an id, echoed on its response and recorded with the events it causes.

The id is the client's `X-Request-Id` when it is sane (1 to 128 printable ASCII characters, no
spaces), else a fresh one. The middleware wraps the whole application, outside Starlette's own
error middleware, so even an unexpected error's response carries the id. The caller's principal is
added by the endpoint once authenticated; the handler threads inherit both (worker threads run in a
copy of the request's context), and so do the tasks of a streamed response.
"""

from __future__ import annotations

import random
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.access import Principal
from infrastructure import event_metadata
from infrastructure.event_metadata import EventMetadata

HEADER = b"x-request-id"
MAX_LENGTH = 128
_SANE = re.compile(rf"[\x21-\x7e]{{1,{MAX_LENGTH}}}")


def request_id_of(given: str | None) -> str:
    """The client's id when it is sane, else a new one."""
    if given is not None and _SANE.fullmatch(given):
        return given
    # Not uuid4: its os.urandom releases the GIL, and the event loop then queues behind the
    # handler threads to take it back, once per request. An id needs to be unique, not secret;
    # `random` reseeds in each forked worker.
    return f"{random.getrandbits(128):032x}"


def _given(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == HEADER:
            return bytes(value).decode("latin-1")
    return None


class RequestContext:
    """ASGI middleware: names the request, makes it current for events, echoes `X-Request-Id`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(_given(scope))
        echoed = (HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if bytes(h[0]).lower() != HEADER]
                message = {**message, "headers": [*headers, echoed]}
            await send(message)

        token = event_metadata.begin(EventMetadata(None, request_id))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            event_metadata.end(token)


def caller(principal: Principal | None) -> None:
    """Record the authenticated caller as the actor of what this request does."""
    if principal is not None:
        event_metadata.set_actor(principal.name)
