"""A response produced by awaiting, for handlers that wait (long-polls, infer) without a thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from interfaces.http.errors import from_exception


class DeferredResponse(Response):
    """A response produced by awaiting, so a long wait holds no handler thread.

    The wait ends early when the client disconnects: nobody is left to answer.
    """

    def __init__(
        self,
        produce: Callable[[], Awaitable[Response]],
        on_disconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(status_code=200)
        self.produce = produce
        self.on_disconnect = on_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response | None = None
        left = False
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                nonlocal left
                # The request body was read before the handler ran: what comes now is a disconnect.
                while (await receive())["type"] != "http.disconnect":
                    pass
                left = True
                group.cancel_scope.cancel()

            group.start_soon(watch)
            try:
                response = await self.produce()
            except Exception as error:  # noqa: BLE001 - every failure leaves as the envelope
                response = from_exception(error)
            group.cancel_scope.cancel()
        if left and self.on_disconnect is not None:
            await self.on_disconnect()
        if response is not None:
            await response(scope, receive, send)
