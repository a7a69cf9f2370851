"""Keyset paging: opaque cursors (a row's sort key, as URL-safe base64 of its JSON) and pages."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson

from domain.errors import SchemaInvalidError


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int, shape: tuple[type, ...] | None = None) -> list[Any] | None:
    """The keyset position in an opaque cursor, or None when it is not one of ours (nor of `shape`:
    the type of each part, so a forged key never reaches a comparison in SQL)."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(key, list) or len(key) != arity:
        return None
    if not all(_is_key_part(part) for part in key):
        return None
    if shape is not None and not all(isinstance(part, kind) for part, kind in zip(key, shape, strict=True)):
        return None
    return key


def read_cursor(cursor: str | None, shape: Sequence[type] | int) -> list[Any] | None:
    """The keyset position a list's `cursor` names (None for the first page); 422 if it is not ours.

    `shape` is the type of each key part, or only their number."""
    if not cursor:
        return None
    key = (
        decode_cursor(cursor, shape)
        if isinstance(shape, int)
        else decode_cursor(cursor, len(shape), tuple(shape))
    )
    if key is None:
        raise SchemaInvalidError("cursor is not one this list issued")
    return key


def next_cursor(key: list[Any] | None) -> str | None:
    return encode_cursor(key) if key else None


def keyset_after(columns: Sequence[str]) -> str:
    """The condition on rows past a keyset position over these columns (its parameters: the key)."""
    return f"({', '.join(columns)}) > ({', '.join('?' for _ in columns)})"


def cut_page(
    rows: list[dict[str, Any]], limit: int, order: Sequence[str]
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """The first `limit` of the `limit + 1` rows read, and the last one's key when there are more."""
    page = rows[:limit]
    return page, ([page[-1][column] for column in order] if len(rows) > limit else None)


def _is_key_part(part: Any) -> bool:
    # A store compares keys as signed 64-bit integers: a larger one is no cursor of ours.
    if isinstance(part, bool):
        return False
    return isinstance(part, str) or (isinstance(part, int) and -(2**63) <= part < 2**63)
