"""Input limits at the edge: one guard for every body and query number of every front door.

The contract's "bad input is never a 500": a body larger than 8 MiB is 413, and a JSON integer
outside the signed 64-bit range, a non-finite number, a lone surrogate, a NUL character (no
PostgreSQL text or jsonb holds one) or nesting deeper than 64 levels is 422 `schema-invalid`,
wherever it sits (free-form objects and keys included; path and query values too). Query
integers are bounded by `QueryInt`. The `/v1` door wraps `to_route`, or calls `read_json`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field
from pydantic_core import from_json
from starlette.requests import Request

from domain.errors import SchemaInvalidError

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Every integer a query string carries: 0..2^63-1, so no store (SQLite's int64) overflows.
QueryInt = Annotated[int, Field(ge=0, le=INT64_MAX)]

M = TypeVar("M", bound=BaseModel)


class BodyTooLargeError(SchemaInvalidError):
    """The body is over `MAX_BODY_BYTES`: `schema-invalid` with status 413."""

    status = 413


def check_declared_size(request: Request) -> None:
    """Refuse a body whose `Content-Length` is over the limit, before reading any of it."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()


async def read_body(request: Request) -> bytes:
    """The raw body, refused as soon as it is known to be over the size limit."""
    check_declared_size(request)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def check_json(raw: bytes) -> Any:
    """Parse a JSON document and enforce the limits on it; the parsed value."""
    try:
        # pydantic's parser keeps big integers exact and refuses lone surrogates.
        value = from_json(raw)
    except ValueError as error:
        raise SchemaInvalidError("the body is not valid JSON", reason=str(error)) from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """Raise `SchemaInvalidError` if a parsed JSON value breaks a limit."""
    if not _within_limits(value, 1):
        _locate(value)
        raise SchemaInvalidError("the body breaks an input limit")


def _within_limits(node: Any, depth: int) -> bool:
    """The fast pass (a body can hold millions of values): plain type tests, no paths kept."""
    kind = type(node)
    if kind is not dict and kind is not list:
        return _scalar_within_limits(node)
    if depth > MAX_DEPTH:
        return False
    if kind is dict and not all(_storable(key) for key in node):
        return False
    for item in node.values() if kind is dict else node:
        kind = type(item)
        if kind is int:
            if item > INT64_MAX or item < INT64_MIN:
                return False
        elif kind is str:
            if not _storable(item):
                return False
        elif kind is dict or kind is list:
            if not _within_limits(item, depth + 1):
                return False
        elif not _scalar_within_limits(item):
            return False
    return True


def _scalar_within_limits(item: Any) -> bool:
    if isinstance(item, bool) or item is None:
        return True
    if isinstance(item, int):
        return INT64_MIN <= item <= INT64_MAX
    if isinstance(item, float):
        return math.isfinite(item)
    if isinstance(item, str):
        return _storable(item)
    return True


def _locate(value: Any) -> None:
    """The slow pass, once a limit is known broken: raise naming where."""
    stack: list[tuple[Any, int, str, Any]] = [(value, 1, "", "")]
    while stack:
        item, depth, parent, key = stack.pop()
        if isinstance(item, dict | list):
            where = f"{parent}/{key}" if depth > 1 else ""
            if depth > MAX_DEPTH:
                raise SchemaInvalidError(f"the body is nested deeper than {MAX_DEPTH} levels", location=where)
            bad_keys = [key for key in item if not _storable(key)] if isinstance(item, dict) else []
            if bad_keys:
                raise SchemaInvalidError(_TEXT_PROBLEM, location=f"{where}/{bad_keys[0]!r}")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((child, depth + 1, where, name) for name, child in children)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                message = "an integer is outside the signed 64-bit range"
                raise SchemaInvalidError(message, location=f"{parent}/{key}")
        elif isinstance(item, float) and not math.isfinite(item):
            raise SchemaInvalidError("a number is out of range", location=f"{parent}/{key}")
        elif isinstance(item, str) and not _storable(item):
            raise SchemaInvalidError(_TEXT_PROBLEM, location=f"{parent}/{key}")


_TEXT_PROBLEM = "a string holds a NUL character or is not valid Unicode"


def _storable(text: str) -> bool:
    """Text every store keeps as it is: no NUL, and no lone surrogate (UTF-8 cannot encode one)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_text(values: Iterable[str], where: str) -> None:
    """Path or query values: refused as a body's strings are (a `%00` decodes to NUL)."""
    for value in values:
        if not _storable(value):
            raise SchemaInvalidError(_TEXT_PROBLEM, location=where)


async def read_json(request: Request) -> Any:
    """The request's JSON body within the limits (for doors with their own models and errors)."""
    return check_json(await read_body(request))


async def parse_body(request: Request, model: type[M]) -> M:
    """The body validated against `model`; an empty body is `{}`."""
    raw = await read_body(request)
    if not raw.strip():
        raw = b"{}"
    check_json(raw)
    return model.model_validate_json(raw)


def bounded_int(text: str, name: str) -> int:
    """A decimal digit string from a cursor or header as an int, or 422 when it is out of range."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > INT64_MAX:
        raise SchemaInvalidError(f"{name} is not a number in 0..{INT64_MAX}", **{name: text[:64]})
    return int(text)


def _too_large() -> BodyTooLargeError:
    return BodyTooLargeError(f"the body is larger than {MAX_BODY_BYTES} bytes", maxBytes=MAX_BODY_BYTES)
