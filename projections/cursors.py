"""Opaque keyset cursors: a row's sort key, as URL-safe base64 of its JSON."""

from __future__ import annotations

import base64
from typing import Any

import orjson


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


def _is_key_part(part: Any) -> bool:
    # A store compares keys as signed 64-bit integers: a larger one is no cursor of ours.
    if isinstance(part, bool):
        return False
    return isinstance(part, str) or (isinstance(part, int) and -(2**63) <= part < 2**63)
