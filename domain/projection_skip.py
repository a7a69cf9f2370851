"""The ProjectionSkip aggregate: an operator's decision that one projection passes over one event."""

from __future__ import annotations

from datetime import datetime

from domain.base import Aggregate
from domain.errors import SchemaInvalidError


def projection_skip_id(projection: str, position: int) -> str:
    """One aggregate per (projection, position), so a second skip of the same event is a conflict."""
    return f"projection-skip:{projection}:{position}"


class ProjectionSkip(Aggregate):
    """Recorded in the log so that the live runner and every rebuild skip the same event."""

    class Recorded(Aggregate.Created):
        projection: str
        position: int
        reason: str
        event_type: str | None = None

    @classmethod
    def record(
        cls, projection: str, position: int, reason: str, now: datetime, event_type: str | None = None
    ) -> ProjectionSkip:
        cls.check_skip(projection, position, reason)
        return cls._create(
            cls.Recorded,
            id=projection_skip_id(projection, position),
            timestamp=now,
            projection=projection,
            position=position,
            reason=reason.strip(),
            event_type=event_type,
        )

    def __init__(self, projection: str, position: int, reason: str, event_type: str | None = None) -> None:
        self.projection = projection
        self.position = position
        self.reason = reason
        self.event_type = event_type

    @staticmethod
    def check_skip(projection: str, position: int, reason: str) -> None:
        if not projection:
            raise SchemaInvalidError("a skip names its projection")
        if position < 1:
            raise SchemaInvalidError("a skip names a log position of 1 or more", position=position)
        if not reason.strip():
            raise SchemaInvalidError("a skip gives its reason")
