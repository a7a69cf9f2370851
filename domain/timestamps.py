"""The wire form of instants: ISO 8601 in UTC with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(instant: datetime | None) -> str | None:
    """`2026-11-22T09:37:26.656617Z`, or None."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def micros(instant: datetime) -> int:
    """Microseconds since the epoch, for ordering."""
    return int(instant.timestamp() * 1_000_000)
