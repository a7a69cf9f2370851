"""Stable hashes of JSON payloads, for idempotency keys."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def payload_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON form (sorted keys, no spaces) of a payload."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
