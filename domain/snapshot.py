"""Snapshots of aggregates: their state at a version, so a load need not replay every event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import CanSnapshotAggregate

from domain.base import DomainEvent

_DATETIMES = "__datetimes__"


@dataclass(frozen=True)
class Snapshot(CanSnapshotAggregate[str], DomainEvent):
    """An aggregate's attributes at `originator_version`; its datetimes travel as ISO strings,
    as stored state holds only JSON."""

    topic: str
    state: dict[str, Any]

    @classmethod
    def take(cls, aggregate: Any) -> Snapshot:
        snapshot = super().take(aggregate)
        state = dict(snapshot.state)
        for key in ("_id", "_version", "_pending_events"):
            state.pop(key, None)  # the snapshot's own fields, or nothing to keep
        datetimes = [key for key, value in state.items() if isinstance(value, datetime)]
        for key in datetimes:
            state[key] = state[key].isoformat()
        state[_DATETIMES] = datetimes
        object.__setattr__(snapshot, "state", state)
        return snapshot

    def mutate(self, _: None) -> Any:
        state = dict(self.state)
        for key in state.pop(_DATETIMES, []):
            state[key] = datetime.fromisoformat(state[key])
        object.__setattr__(self, "state", state)
        return super().mutate(None)
