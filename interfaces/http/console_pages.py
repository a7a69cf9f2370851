"""Serving the console: the page at /ui, its static files, and `/` sending browsers there."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

import domain
from domain.base import DomainEvent
from interfaces.console import STATIC_DIR
from interfaces.http.errors import error_response

# Everything the page loads comes from this origin; nothing runs inline, nothing frames it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class ConsoleStatic(StaticFiles):
    """Static files with the console's security headers, revalidated on every load."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS, media_type="text/html")


async def root(request: Request) -> Response:
    """A browser asking for `/` gets the console; an API client gets the JSON 404 as before."""
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/ui", status_code=303)
    return error_response("not-found", "Not Found")


@cache
def event_types() -> list[str]:
    """Every domain event's name (`Run.Claimed`, ...): a browser's EventSource needs one listener per name."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    names: set[str] = set()
    pending: list[type] = [DomainEvent]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        parts = cls.__qualname__.split(".")
        if len(parts) == 2 and not parts[0].startswith("_") and parts[0] != "Aggregate":
            names.add(cls.__qualname__)
    return sorted(names)


async def event_types_json(request: Request) -> Response:
    return Response(orjson.dumps(event_types()), media_type="application/json", headers=SECURITY_HEADERS)


def console_routes() -> list[BaseRoute]:
    return [
        Route("/", root, methods=["GET"]),
        Route("/ui", index, methods=["GET"]),
        Route("/ui/", index, methods=["GET"]),
        Route("/ui/event-types.json", event_types_json, methods=["GET"]),
        Mount("/ui/static", ConsoleStatic(directory=STATIC_DIR), name="console-static"),
    ]
