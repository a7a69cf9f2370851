"""The Starlette application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, ExceptionHandler, Lifespan

from interfaces.http.console_pages import console_routes
from interfaces.http.endpoint import to_route
from interfaces.http.errors import http_exception_handler, unexpected_exception_handler
from interfaces.http.openai.routes import OPENAI, OPENAI_PREFIX, openai_fallback, openai_route
from interfaces.http.openai.wire import ErrorOut
from interfaces.http.openapi import build_openapi
from interfaces.http.request_context import RequestContext
from interfaces.http.request_log import RequestLog
from interfaces.http.route_index import IndexedRouter
from interfaces.http.routes import API, API_PREFIX, CONSOLE, OPS
from interfaces.http.state import HANDLER_THREADS

if TYPE_CHECKING:
    from interfaces.bootstrap import Container


def create_app(container: Container) -> Starlette:
    """The HTTP API over a container; the container's lifetime is the app's."""
    container.openapi = build_openapi(
        [("", OPS), ("", CONSOLE), (API_PREFIX, API), (OPENAI_PREFIX, OPENAI)],
        container.version,
        errors={OPENAI_PREFIX: ErrorOut},
    )
    routes: list[BaseRoute] = [to_route(e, container) for e in OPS]
    routes += [to_route(e, container, API_PREFIX) for e in API]
    routes += [to_route(e, container) for e in CONSOLE] + console_routes()
    routes += [openai_route(e, container) for e in OPENAI] + [openai_fallback()]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The other work that runs in threads (waiters, dispatch) gets as many as handlers.
        to_thread.current_default_thread_limiter().total_tokens = HANDLER_THREADS
        container.start()
        try:
            yield
        finally:
            container.close()

    handlers = {HTTPException: http_exception_handler, Exception: unexpected_exception_handler}
    return _App(routes=routes, exception_handlers=handlers, lifespan=lifespan)


class _App(Starlette):
    def __init__(
        self,
        *,
        routes: Sequence[BaseRoute],
        exception_handlers: Mapping[Any, ExceptionHandler],
        lifespan: Lifespan[Starlette] | None = None,
    ) -> None:
        super().__init__(routes=routes, exception_handlers=exception_handlers, lifespan=lifespan)
        # Starlette's router over the same routes, trying only those a request's path can match.
        self.router = IndexedRouter(routes, lifespan=lifespan)

    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, so that every response (an unexpected error's too) echoes `X-Request-Id`.
        return RequestContext(RequestLog(super().build_middleware_stack()))
