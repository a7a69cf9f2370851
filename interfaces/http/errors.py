"""The error envelope: every 4xx/5xx body is `{"error": {kind, message, details}}`."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import psycopg
from eventsourcing.persistence import DataError, InterfaceError, OperationalError
from psycopg_pool import PoolTimeout
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from domain.errors import AgentRunError

log = logging.getLogger(__name__)

# What a database outage raises, from the event store, the view pool or psycopg itself.
OUTAGES = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

# What a store raises for a value it cannot hold (a NUL in PostgreSQL text, a number out of range).
STORE_REFUSALS = (DataError, psycopg.DataError)

STATUS_OF_KIND = {
    "unauthorized": 401,
    "forbidden": 403,
    "tenant-policy-denied": 403,
    "not-found": 404,
    "method-not-allowed": 405,
    "schema-invalid": 422,
    "conflict": 409,
    "runner-lease-conflict": 409,
    "stale-attempt": 409,
    "unavailable": 503,
    "timeout": 504,
    "internal": 500,
}


def error_response(
    kind: str, message: str, details: dict[str, Any] | None = None, status: int | None = None
) -> Response:
    """The envelope; `status` overrides the kind's own (a too-large body is `schema-invalid` 413)."""
    body = {"error": {"kind": kind, "message": message, "details": details or {}}}
    try:
        content = orjson.dumps(body)
    except TypeError:
        # Details that cannot be written (an echoed value beyond 64 bits) must not turn into a 500.
        content = orjson.dumps({"error": {"kind": kind, "message": message, "details": {}}})
    status = status or STATUS_OF_KIND.get(kind, 500)
    return Response(content, status_code=status, media_type="application/json")


def from_exception(error: Exception) -> Response:
    """Map an exception to the envelope; unexpected ones are a 500 that reveals nothing."""
    if isinstance(error, AgentRunError):
        return error_response(error.kind, error.message, error.details, getattr(error, "status", None))
    if isinstance(error, ValidationError):
        errors = error.errors(include_url=False, include_input=False, include_context=False)
        problems = [
            {"location": [str(part) for part in e["loc"]], "message": e["msg"], "type": e["type"]}
            for e in errors
        ]
        return error_response("schema-invalid", "the request is not valid", {"errors": problems})
    if isinstance(error, STORE_REFUSALS):
        # The edge guard (ADR 0033) should have refused the value first; still, it is the input's.
        log.warning("the store refused a value: %s", error)
        return error_response("schema-invalid", "a value cannot be stored", {})
    if isinstance(error, OUTAGES):
        log.warning("database unavailable: %s", type(error).__name__)
        return error_response("unavailable", "the database is unavailable; retry later")
    log.exception("unexpected error", exc_info=error)
    return error_response("internal", "an unexpected error occurred")


async def http_exception_handler(request: Request, error: Exception) -> Response:
    status = getattr(error, "status_code", 500)
    kind = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(status, "internal")
    return error_response(kind, str(getattr(error, "detail", "")) or kind)


async def unexpected_exception_handler(request: Request, error: Exception) -> Response:
    return from_exception(error)
