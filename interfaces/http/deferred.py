"""A response produced by awaiting, for handlers that wait (long-polls, infer) without a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

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
        # Plain asyncio, not an anyio task group: one task watches for the disconnect and cancels
        # this one (anyio's group, scope and backend lookups were a tenth of the loop's time in
        # the inference benchmark, ADR 0043).
        this = asyncio.current_task()
        assert this is not None
        left = False

        async def watch() -> None:
            nonlocal left
            # The request body was read before the handler ran: what comes now is a disconnect.
            while (await receive())["type"] != "http.disconnect":
                pass
            left = True
            this.cancel()

        watcher = asyncio.ensure_future(watch())
        # A receive that fails ends the watch, not the answer: its error is taken here, unlogged.
        watcher.add_done_callback(lambda done: done.cancelled() or done.exception())
        response: Response | None = None
        try:
            response = await self.produce()
        except asyncio.CancelledError:
            if not left:
                raise  # cancelled from outside (the server stops): not ours to swallow
            this.uncancel()
        except Exception as error:  # noqa: BLE001 - every failure leaves as the envelope
            response = from_exception(error)
        finally:
            watcher.cancel()
        if left and self.on_disconnect is not None:
            await self.on_disconnect()
        if response is not None:
            await response(scope, receive, send)
