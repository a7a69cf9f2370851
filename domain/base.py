"""Base classes for aggregates with string ids and events that carry their own time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import (
    BaseAggregate,
    CanCreateTimestamp,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)


@dataclass(frozen=True)
class DomainEvent(CanCreateTimestamp, metaclass=MetaDomainEvent):
    """An immutable fact about one aggregate, identified by a string id."""

    originator_id: str
    originator_version: int
    timestamp: datetime


class _Event(CanMutateAggregate[str], DomainEvent):
    pass


@dataclass(frozen=True)
class _Created(CanInitAggregate[str], _Event):
    originator_topic: str


class Aggregate(BaseAggregate[str]):
    """An aggregate whose id is a string and whose events are stamped by the caller's clock."""

    class Event(_Event):
        """An event that evolves an existing aggregate."""

    class Created(Event, _Created):
        """The first event of an aggregate."""

    @property
    def created_at(self) -> datetime:
        return self.created_on

    @property
    def updated_at(self) -> datetime:
        return self.modified_on

    def _trigger(self, event_class: type[Any], now: datetime, **fields: Any) -> None:
        self.trigger_event(event_class, timestamp=now, **fields)


def event_name(event: object) -> str:
    """The public name of an event: `Run.Claimed`, `Session.ReadMarked`."""
    return type(event).__qualname__
