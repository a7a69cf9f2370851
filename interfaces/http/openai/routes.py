"""The `/v1` routes: the API's endpoints, their errors rewritten in OpenAI's shape."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from interfaces.http.endpoint import Endpoint, RouteApp
from interfaces.http.openai import handlers, wire

if TYPE_CHECKING:
    from interfaces.bootstrap import Container

OPENAI_PREFIX = "/v1"

OPENAI = [
    Endpoint("GET", "/models", handlers.list_models, "List models (OpenAI)", response=wire.ModelList),
    Endpoint(
        "POST",
        "/chat/completions",
        handlers.create_chat_completion,
        "Create a chat completion (OpenAI)",
        wire.ChatCompletionBody,
    ),
]


def openai_route(endpoint: Endpoint, container: Container) -> Route:
    """The endpoint's route (auth, input limits, handler), answering errors as OpenAI does."""
    inner = RouteApp(endpoint, container, OPENAI_PREFIX + endpoint.path)

    async def handle(request: Request) -> Response:
        response = await inner.answer(request)
        if response.status_code < 400 or not hasattr(response, "body"):
            return response
        return wire.from_envelope(response)

    return Route(inner.template, handle, methods=[endpoint.method], name=endpoint.summary)


def openai_fallback() -> Route:
    """Any other `/v1` path or method, answered in OpenAI's shape rather than the API's envelope."""
    known = {OPENAI_PREFIX + e.path for e in OPENAI}

    async def handle(request: Request) -> Response:
        if request.url.path in known:
            return wire.error_response("method-not-allowed", f"{request.method} is not allowed here", 405)
        return wire.error_response("not-found", f"{request.url.path} is not an API of this server", 404)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Route(OPENAI_PREFIX + "/{rest:path}", handle, methods=methods, include_in_schema=False)
