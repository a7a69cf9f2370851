"""The event log as a product: filtered, tenant-scoped pages of the log in position order.

An event is visible to a principal with all tenants (`*`); to a tenant-scoped principal only when
the aggregate it belongs to has a tenant among the principal's tenants. An aggregate's tenant,
run and session come from its first event (immutable, so cached for good). Aggregates without a
tenant (runners, workers, inference tasks) are visible only to principals with all tenants.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from application.access import EVENTS, Principal
from domain.base import event_name
from domain.timestamps import iso
from projections import event_index
from projections.base import ViewCursor
from projections.event_index import scope_of

EVENTS_PERMISSION = EVENTS  # kept for importers; the name is defined once in access
# A page stops after examining this many events, so a sparse filter cannot pin a thread.
SCAN_BUDGET = 5_000
READ_BATCH = 1_000
# Where the store puts who caused an event (`{actor, requestId}`, ADR 0030): metadata, not data.
EVENT_METADATA = "__meta__"
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", EVENT_METADATA}
)
_UNDERSCORE = re.compile(r"_([a-z0-9])")


class LogSource(Protocol):
    def read(self, after: int, limit: int) -> list[tuple[int, Any]]: ...

    def first(self, aggregate_id: str) -> Any: ...

    def aggregate(self, aggregate_id: str, upto_version: int | None = None) -> list[tuple[int, Any]]: ...

    def head(self) -> int: ...

    def at(self, positions: list[int]) -> list[tuple[int, Any]]:
        """(position, event) at these positions, in position order."""
        ...


class IndexViews(Protocol):
    """Where the event index is read: how far it reached, and its rows."""

    def processed(self, names: list[str] | None = None) -> int: ...

    def read(self) -> AbstractContextManager[ViewCursor]: ...


def camel(name: str) -> str:
    return _UNDERSCORE.sub(lambda m: m.group(1).upper(), name)


def jsonable(value: Any) -> Any:
    """Datetimes as the wire's ISO strings, at any depth; containers copied as lists and dicts."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def event_item(position: int, event: Any) -> dict[str, Any]:
    """An event as the contract's log item: who caused it, and `data`, its fields (camelCase) as stored."""
    name = event_name(event)
    fields = vars(event)
    meta = fields.get(EVENT_METADATA) or {}
    return {
        "position": position,
        "aggregateType": name.rsplit(".", 1)[0],
        "aggregateId": event.originator_id,
        "aggregateVersion": event.originator_version,
        "type": name,
        "timestamp": iso(event.timestamp),
        "actor": meta.get("actor"),
        "requestId": meta.get("requestId"),
        "data": {camel(k): jsonable(v) for k, v in fields.items() if k not in _ENVELOPE},
    }


@dataclass(frozen=True)
class Scope:
    """What an aggregate belongs to, read from its first event."""

    tenant_id: str | None
    run_id: str | None
    session_id: str | None

    @classmethod
    def of_created(cls, created: Any) -> Scope:
        return cls(*scope_of(created))


@dataclass(frozen=True)
class EventFilter:
    """`types`, `aggregateId`, `runId`, `sessionId` of `/events` and `/events/stream`."""

    types: frozenset[str] = frozenset()
    aggregate_id: str | None = None
    run_id: str | None = None
    session_id: str | None = None

    @classmethod
    def parse(
        cls, types: str | None, aggregate_id: str | None, run_id: str | None, session_id: str | None
    ) -> EventFilter:
        names = frozenset(t.strip() for t in (types or "").split(",") if t.strip())
        return cls(names, aggregate_id or None, run_id or None, session_id or None)

    def matches(self, event: Any, scope: Scope) -> bool:
        if self.types and event_name(event) not in self.types:
            return False
        if self.aggregate_id is not None and event.originator_id != self.aggregate_id:
            return False
        if self.run_id is not None and self.run_id not in (scope.run_id, getattr(event, "run_id", None)):
            return False
        return self.session_id is None or self.session_id in (
            scope.session_id,
            getattr(event, "session_id", None),
        )


@dataclass
class Scan:
    """A scan's result: matching items, the position examined up to, and whether it hit the head."""

    items: list[dict[str, Any]]
    last: int
    at_end: bool


class EventLogUseCases:
    """Pages of the log for `/events`, the SSE tail and the CLI."""

    def __init__(self, source: LogSource, cache_size: int = 100_000, index: IndexViews | None = None) -> None:
        self.source = source
        self.index = index
        self._scopes: OrderedDict[str, Scope] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def page(self, principal: Principal, after: int, limit: int, flt: EventFilter) -> dict[str, Any]:
        """`{items, nextAfter}`; `nextAfter` is null once the scan reached the head of the log."""
        principal.require(EVENTS_PERMISSION)
        scan = self.scan(principal, after, limit, flt)
        return {"items": scan.items, "nextAfter": None if scan.at_end else scan.last}

    def scan(
        self, principal: Principal, after: int, limit: int, flt: EventFilter, budget: int = SCAN_BUDGET
    ) -> Scan:
        """Matching, visible events after `after`, examining at most `budget` events."""
        if flt.aggregate_id is not None:
            return self._scan_aggregate(principal, after, limit, flt)
        refs = flt.run_id is not None or flt.session_id is not None
        if self.index is None or (principal.all_tenants and not flt.types and not refs):
            return self._scan_log(principal, after, limit, flt, budget)
        # The index answers up to the position it reached; only the log above it is scanned, so
        # a lagging index is slower, never wrong (ADR 0042).
        upto = self.index.processed([event_index.NAME])
        if upto <= after:
            return self._scan_log(principal, after, limit, flt, budget)
        with self.index.read() as cur:
            positions = event_index.matching_positions(
                cur,
                after=after,
                upto=upto,
                limit=limit,
                tenants=principal.tenant_filter(),
                types=sorted(flt.types),
                run_id=flt.run_id,
                session_id=flt.session_id,
            )
        items = [event_item(p, e) for p, e in self.source.at(positions)] if positions else []
        if len(positions) >= limit:
            return Scan(items, positions[-1], False)
        rest = self._scan_log(principal, upto, limit - len(items), flt, budget)
        return Scan(items + rest.items, rest.last, rest.at_end)

    def _scan_log(self, principal: Principal, after: int, limit: int, flt: EventFilter, budget: int) -> Scan:
        """The log itself in position order, each event checked in Python."""
        items: list[dict[str, Any]] = []
        last = after
        examined = 0
        while examined < budget:
            want = min(READ_BATCH, budget - examined)
            batch = self.source.read(last, want)
            for position, event in batch:
                last = position
                if self._visible(principal, event, flt):
                    items.append(event_item(position, event))
                    if len(items) >= limit:
                        return Scan(items, last, False)
            examined += len(batch)
            if len(batch) < want:
                return Scan(items, last, True)
        return Scan(items, last, False)

    def _scan_aggregate(self, principal: Principal, after: int, limit: int, flt: EventFilter) -> Scan:
        """One aggregate's events come from its own rows, not from a scan of the whole log."""
        assert flt.aggregate_id is not None
        # The head first: an event committed after it is left for the next scan, never skipped.
        head = self.source.head()
        events = [(p, e) for p, e in self.source.aggregate(flt.aggregate_id) if after < p <= head]
        items = [event_item(p, e) for p, e in events if self._visible(principal, e, flt)]
        if len(items) > limit:
            return Scan(items[:limit], items[limit - 1]["position"], False)
        # Nothing of this aggregate beyond what was found: the scan is at the head for this filter.
        return Scan(items, max(after, head), True)

    def head(self) -> int:
        return self.source.head()

    def scope(self, aggregate_id: str, event: Any = None) -> Scope:
        """The aggregate's scope, from the given first event or looked up once."""
        with self._lock:
            found = self._scopes.get(aggregate_id)
            if found is not None:
                self._scopes.move_to_end(aggregate_id)
                return found
        created = event if event is not None and event.originator_version == 1 else None
        if created is None:
            created = self.source.first(aggregate_id)
        scope = Scope.of_created(created) if created is not None else Scope(None, None, None)
        with self._lock:
            self._scopes[aggregate_id] = scope
            if len(self._scopes) > self._cache_size:
                self._scopes.popitem(last=False)
        return scope

    def visible(self, principal: Principal, event: Any, flt: EventFilter) -> bool:
        """Whether the principal sees the event and it matches the filter (may read a first event)."""
        return self._visible(principal, event, flt)

    def _visible(self, principal: Principal, event: Any, flt: EventFilter) -> bool:
        if flt.types and event_name(event) not in flt.types:
            return False
        if flt.aggregate_id is not None and event.originator_id != flt.aggregate_id:
            return False
        needs_scope = not principal.all_tenants or flt.run_id is not None or flt.session_id is not None
        if not needs_scope:
            return True
        scope = self.scope(event.originator_id, event)
        if not principal.all_tenants and (scope.tenant_id is None or not principal.sees(scope.tenant_id)):
            return False
        return flt.matches(event, scope)
