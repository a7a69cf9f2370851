"""Identifiers: generated ones carry a type prefix, client-chosen ones a namespace."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    """A fresh id such as `run_3f2a...`."""
    return f"{prefix}_{uuid.uuid4().hex}"
