"""An endpoint: method, path, body and response models, and a synchronous handler.

Handlers parse nothing themselves: the body is validated against its model before the
handler runs, and the handler runs in a worker thread since the use cases are synchronous (an
endpoint's `on_loop` part, which must not block, may answer first on the event loop).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from anyio import to_thread
from pydantic import BaseModel
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from application.access import Principal
from interfaces.http import limits, request_context
from interfaces.http.errors import from_exception

if TYPE_CHECKING:
    from interfaces.bootstrap import Container

Q = TypeVar("Q", bound=BaseModel)


@dataclass
class Call:
    """What a handler gets: the container, the caller, path and query values, the parsed body."""

    app: Container
    principal: Principal
    path: dict[str, str]
    query_params: QueryParams
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    _queries: dict[type[BaseModel], BaseModel] = field(default_factory=dict, repr=False)

    def query(self, model: type[Q]) -> Q:
        """The query string validated against `model` (its integers are `limits.QueryInt`)."""
        if model not in self._queries:
            self._queries[model] = model.model_validate(dict(self.query_params))
        return self._queries[model]  # type: ignore[return-value]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Callable[[Call], Any]
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    # The handler returns an `sse_response(...)`; documented as `text/event-stream`.
    stream: bool = False
    # Other statuses answered with the response model (an idempotent repeat's 200, health's 503).
    also: tuple[int, ...] = ()
    # Runs on threads of its own, so it answers while every handler thread is busy (health, ADR 0032).
    own_threads: bool = False
    # Tried on the event loop first, where it must not block: its answer, or None to run `handler`
    # on a handler thread (a long-poll that can start waiting from memory, ADR 0043).
    on_loop: Callable[[Call], Any] | None = None


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def to_route(endpoint: Endpoint, container: Container, prefix: str = "") -> Route:
    """The Starlette route running the endpoint: authenticate, parse, call, serialise."""
    app = RouteApp(endpoint, container, prefix + endpoint.path)
    return Route(app.template, app, methods=[endpoint.method], name=endpoint.summary)


@dataclass(frozen=True)
class RouteApp:
    """An endpoint as a plain ASGI app. Starlette's `Route` runs an app as it is (a request function
    it would wrap in its per-request exception handling, which `respond` makes redundant: every
    failure already leaves as the error envelope)."""

    endpoint: Endpoint
    container: Container
    template: str

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.answer(Request(scope, receive))
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        """The response to `request`, its status and time counted in the metrics."""
        started = time.perf_counter()
        response = await self.respond(request)
        self.container.http.metrics.observe(
            self.endpoint.method, self.template, response.status_code, time.perf_counter() - started
        )
        return response

    async def respond(self, request: Request) -> Response:
        endpoint, container = self.endpoint, self.container
        try:
            principal = await container.authenticator.authenticate(request) if endpoint.auth else None
            request_context.caller(principal)  # the actor of the events this request causes
            # The input limits (ADR 0033) guard every body and declared query here, before the handler.
            limits.check_declared_size(request)
            limits.check_text(request.path_params.values(), "path")
            limits.check_text((f"{k}={v}" for k, v in request.query_params.multi_items()), "query")
            body = None if endpoint.body is None else await limits.parse_body(request, endpoint.body)
            call = Call(
                container,
                principal,  # type: ignore[arg-type]
                dict(request.path_params),
                request.query_params,
                body,
                request.headers,
            )
            if endpoint.query is not None:
                call.query(endpoint.query)
            result = None if endpoint.on_loop is None else endpoint.on_loop(call)
            if result is None and endpoint.own_threads:
                result = await to_thread.run_sync(endpoint.handler, call, limiter=container.http.own_threads)
            elif result is None:
                result = await container.http.in_handler_thread(endpoint.handler, call)
        except Exception as error:  # noqa: BLE001 - every failure leaves as the envelope
            return from_exception(error)
        if isinstance(result, Response):
            return result
        status, payload = result if isinstance(result, tuple) else (endpoint.status, result)
        if payload is None:
            return Response(status_code=status)
        return json_response(payload, status)


def page(items: list[Any], next_cursor: Any) -> dict[str, Any]:
    return {
        "items": items,
        "count": len(items),
        "nextCursor": None if next_cursor is None else str(next_cursor),
    }
