"""Responses that wait on a task: they end when the answer comes, the client leaves, or the server stops.

A client that leaves is told to the use case (it cancels the task unless asked to keep it); a server
that stops answers 503 with `Retry-After`, so the SDK retries with the same `Idempotency-Key` and
joins the same task on the next server instead of running it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import AppStatus
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from interfaces.http.errors import from_exception
from interfaces.http.openai import wire
from interfaces.http.per_loop import PerLoop

SHUTDOWN_POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
Abandon = Callable[[], Awaitable[None]]


def _server_exiting() -> bool:
    if AppStatus.should_exit:
        return True
    # uvicorn's signal handler is a bound method of its server (as sse-starlette looks it up too).
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(server, "should_exit", False))


class ServerStopping:
    """Waits until the server starts to stop; one watcher per event loop, shared by every waiter."""

    def __init__(self) -> None:
        self._events: PerLoop[asyncio.Event] = PerLoop(self._watched)

    @staticmethod
    def _watched() -> asyncio.Event:
        event = asyncio.Event()
        _watcher = asyncio.get_running_loop().create_task(_watch(event))  # noqa: RUF006 - lives as long as the loop
        return event

    async def wait(self) -> None:
        await self._events.get().wait()


async def _watch(event: asyncio.Event) -> None:
    while not _server_exiting():
        await asyncio.sleep(SHUTDOWN_POLL_SECONDS)
    event.set()


def restarting(headers: dict[str, str]) -> Response:
    message = "the server is restarting; retry with the same Idempotency-Key to join the task"
    return wire.error_response("unavailable", message, 503, headers={**headers, "x-should-retry": "true"})


async def race(
    produce: Callable[[], Awaitable[Any]], receive: Receive | None, stopping: ServerStopping
) -> tuple[str, Any]:
    """`("done", value)`, `("error", exception)`, `("left", None)` or `("stopping", None)`.

    Without `receive`, the client is not watched (an SSE response watches it itself).
    """
    outcome: tuple[str, Any] = ("stopping", None)
    async with anyio.create_task_group() as group:

        async def watch_client() -> None:
            nonlocal outcome
            if receive is None:
                return
            # The body was read before the handler ran: what comes now is a disconnect.
            while (await receive())["type"] != "http.disconnect":
                pass
            outcome = ("left", None)
            group.cancel_scope.cancel()

        async def watch_server() -> None:
            await stopping.wait()
            group.cancel_scope.cancel()

        group.start_soon(watch_client)
        group.start_soon(watch_server)
        try:
            outcome = ("done", await produce())
        except Exception as error:  # noqa: BLE001 - every failure leaves as an error response
            outcome = ("error", error)
        group.cancel_scope.cancel()
    return outcome


async def _abandon(abandon: Abandon) -> None:
    # The task may have ended meanwhile, or the store be down: nobody is left to tell either way.
    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
        await abandon()


class Awaited(Response):
    """A JSON answer produced by awaiting the task, with the task id in the headers."""

    def __init__(
        self,
        produce: Callable[[], Awaitable[Response]],
        abandon: Abandon,
        headers: dict[str, str],
        stopping: ServerStopping,
    ):
        super().__init__(status_code=200, headers=headers)
        self.stopping = stopping
        self.produce = produce
        self.abandon = abandon
        self.extra = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind, value = await race(self.produce, receive, self.stopping)
        if kind == "left":
            await _abandon(self.abandon)
            return
        response = value if kind == "done" else restarting(self.extra)
        if kind == "error":
            response = wire.from_envelope(from_exception(value))
        for name, header in self.extra.items():
            response.headers.setdefault(name, header)
        await response(scope, receive, send)


class Streamed(Response):
    """A stream of frames that starts once the first one is known, so an early failure is an HTTP error.

    `frames` yields SSE frames (`ServerSentEvent`), or a `Response` as its first item to answer with
    instead of a stream.
    """

    def __init__(
        self,
        frames: AsyncIterator[ServerSentEvent | Response],
        abandon: Abandon,
        headers: dict[str, str],
        stopping: ServerStopping,
    ):
        super().__init__(status_code=200, headers=headers)
        self.stopping = stopping
        self.frames = frames
        self.abandon = abandon
        self.extra = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind, first = await race(self.frames.__anext__, receive, self.stopping)
        if kind == "left":
            await _abandon(self.abandon)
            return
        if kind == "stopping":
            await restarting(self.extra)(scope, receive, send)
            return
        if kind == "error":
            error = first if not isinstance(first, StopAsyncIteration) else RuntimeError("empty stream")
            await wire.from_envelope(from_exception(error))(scope, receive, send)
            return
        if isinstance(first, Response):
            for name, header in self.extra.items():
                first.headers.setdefault(name, header)
            await first(scope, receive, send)
            return

        async def frames() -> AsyncIterator[ServerSentEvent]:
            yield first
            while True:
                kind, frame = await race(self.frames.__anext__, None, self.stopping)
                if kind == "stopping":
                    # Not a silent end the SDK would take for the whole answer: an error it raises.
                    yield ServerSentEvent(bytes(restarting({}).body).decode())
                    return
                if kind == "error":
                    if not isinstance(frame, StopAsyncIteration):
                        yield ServerSentEvent(bytes(wire.from_envelope(from_exception(frame)).body).decode())
                    return
                assert isinstance(frame, ServerSentEvent)
                yield frame

        async def left(message: Message) -> None:
            await _abandon(self.abandon)

        stream = EventSourceResponse(
            frames(),
            headers={**self.extra, "Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            ping=KEEPALIVE_SECONDS,
            client_close_handler_callable=left,
            # Time for the farewell frame when the server stops (the stream notices within a poll).
            shutdown_grace_period=2 * SHUTDOWN_POLL_SECONDS + 0.5,
        )
        await stream(scope, receive, send)


def data(payload: Any, ident: int | None = None) -> ServerSentEvent:
    """A `data:` frame of JSON (OpenAI's framing has no event names)."""
    return ServerSentEvent(orjson.dumps(payload).decode(), id=None if ident is None else str(ident))
