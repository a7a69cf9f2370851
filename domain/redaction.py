"""Redaction of secret-looking keys before anything is stored."""

from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"
_SECRET_SUFFIXES = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
    "credentials",
    "privatekey",
)


def is_secret_key(key: str) -> bool:
    """True when the key, lowercased with `_` and `-` removed, ends with a secret suffix."""
    folded = key.lower().replace("_", "").replace("-", "")
    return folded.endswith(_SECRET_SUFFIXES)


def redact(value: Any) -> Any:
    """Return a copy of a JSON value with every secret-looking key's value replaced, at any depth."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
