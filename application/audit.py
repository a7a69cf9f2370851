"""Audit: an aggregate's history, and its state at a version or an instant, from its events alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from application.access import AUDIT, Principal
from application.errors import NotFoundError
from application.event_log import EventLogUseCases, Scope, camel, event_item, jsonable
from domain.base import event_name
from domain.errors import SchemaInvalidError

AUDIT_PERMISSION = AUDIT
# Aggregate attributes named by the library; shown under the names the wire uses.
_LIBRARY_FIELDS = {
    "_id": "id",
    "_version": "version",
    "_created_on": "createdAt",
    "_modified_on": "updatedAt",
}


def aggregate_state(aggregate: Any) -> dict[str, Any]:
    """The aggregate's attributes as JSON: public ones camelCased, the library's under wire names."""
    state: dict[str, Any] = {}
    for key, value in vars(aggregate).items():
        if key in _LIBRARY_FIELDS:
            state[_LIBRARY_FIELDS[key]] = jsonable(value)
        elif not key.startswith("_"):
            state[camel(key)] = jsonable(value)
    return state


def replay(events: list[Any]) -> Any:
    """Fold events into a fresh aggregate, as the repository does, without touching the store."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class AuditUseCases:
    """`GET /audit/{aggregateId}` and `agentrun audit`."""

    def __init__(self, event_log: EventLogUseCases) -> None:
        self.event_log = event_log

    def audit(
        self, principal: Principal, aggregate_id: str, version: int | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        principal.require(AUDIT_PERMISSION)
        if version is not None and at is not None:
            raise SchemaInvalidError("give either version or at, not both")
        events = self.event_log.source.aggregate(aggregate_id)
        if not events or not self._visible(principal, self.event_log.scope(aggregate_id, events[0][1])):
            raise NotFoundError(f"aggregate {aggregate_id} was not found")
        if version is not None:
            chosen = [(p, e) for p, e in events if e.originator_version <= version]
            if version > events[-1][1].originator_version:
                raise NotFoundError(f"aggregate {aggregate_id} has no version {version}")
        elif at is not None:
            at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
            chosen = [(p, e) for p, e in events if e.timestamp <= at]
            if not chosen:
                raise NotFoundError(f"aggregate {aggregate_id} did not exist at {at.isoformat()}")
        else:
            chosen = events
        aggregate = replay([e for _, e in chosen])
        last = chosen[-1][1]
        return {
            "aggregateType": event_name(last).rsplit(".", 1)[0],
            "aggregateId": aggregate_id,
            "version": last.originator_version,
            "position": chosen[-1][0],
            "state": aggregate_state(aggregate),
            "history": [event_item(p, e) for p, e in chosen],
        }

    @staticmethod
    def _visible(principal: Principal, scope: Scope) -> bool:
        if principal.all_tenants:
            return True
        return scope.tenant_id is not None and principal.sees(scope.tenant_id)
