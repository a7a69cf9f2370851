"""A clock for use cases that moves only when the test moves it: a lease expires without a sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Now, until `advance` moves it on (a `Clock`: called, it returns an aware UTC datetime)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
