"""An index of the log for `/events` filters: each event's type and tenant, and what it refers to.

`event_index` holds one row per event (position, type, the tenant of its aggregate), indexed by
type and by tenant; `event_refs` one row per run or session an event belongs to (its aggregate's,
from the aggregate's first event, or its own `run_id` / `session_id` field); `event_scopes` what
an aggregate belongs to, written at its first event. The page reads these as index ranges up to
the projection's position and scans only the log above it (ADR 0042).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

from domain.base import event_name
from projections.base import Projection, ViewCursor

NAME = "event_index"
RUN, SESSION = "run", "session"


class AggregateScope(NamedTuple):
    """What an aggregate belongs to, read from its first event."""

    tenant_id: str | None
    run_id: str | None
    session_id: str | None


def scope_of(created: Any) -> AggregateScope:
    """The scope an aggregate's first event gives it."""
    aggregate_type = event_name(created).rsplit(".", 1)[0]
    run_id = created.originator_id if aggregate_type == "Run" else getattr(created, "run_id", None)
    session_id = getattr(created, "session_id", None)
    session_ref = getattr(created, "session_ref", None)
    if session_id is None and isinstance(session_ref, dict):
        session_id = session_ref.get("sessionId")
    return AggregateScope(getattr(created, "tenant_id", None), run_id, session_id)


def refs_of(event: Any, scope: AggregateScope) -> set[tuple[str, str]]:
    """The runs and sessions a `runId=` / `sessionId=` filter finds the event under."""
    refs: set[tuple[str, str]] = set()
    for kind, values in (
        (RUN, (scope.run_id, getattr(event, "run_id", None))),
        (SESSION, (scope.session_id, getattr(event, "session_id", None))),
    ):
        refs.update((kind, v) for v in values if isinstance(v, str))
    return refs


class EventIndex(Projection):
    """Folds every event into the index rows; an undecodable event is left out of the index."""

    name = NAME
    tables = {
        "event_index": (
            "position BIGINT PRIMARY KEY, event_type TEXT NOT NULL, tenant_id TEXT, "
            "aggregate_id TEXT NOT NULL"
        ),
        "event_refs": (
            "kind TEXT NOT NULL, ref_id TEXT NOT NULL, position BIGINT NOT NULL, event_type TEXT NOT NULL, "
            "tenant_id TEXT, PRIMARY KEY (kind, ref_id, position)"
        ),
        "event_scopes": "aggregate_id TEXT PRIMARY KEY, tenant_id TEXT, run_id TEXT, session_id TEXT",
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS event_index_type ON event_index (event_type, position)",
        "CREATE INDEX IF NOT EXISTS event_index_tenant ON event_index (tenant_id, position)",
        "CREATE INDEX IF NOT EXISTS event_index_tenant_type ON event_index (tenant_id, event_type, position)",
        "CREATE INDEX IF NOT EXISTS event_refs_type ON event_refs (kind, ref_id, event_type, position)",
    )

    def __init__(self, cache_size: int = 50_000) -> None:
        # Scopes never change once written, so a remembered one is always right.
        self._scopes: OrderedDict[str, AggregateScope] = OrderedDict()
        self._cache_size = cache_size

    def folds(self, event_name: str) -> bool:
        return False  # an undecodable event is not indexed rather than stalling the index
    def apply(self, cur: ViewCursor, event: Any, position: int) -> None:
        self.apply_batch(cur, [(position, event)])

    def apply_batch(self, cur: ViewCursor, events: Sequence[tuple[int, Any]]) -> None:
        # Three multi-row statements a batch: an aggregate's scope is remembered at its first event,
        # before any later event of it in the batch looks it up, and written with the others.
        scopes: list[tuple[Any, ...]] = []
        indexed: list[tuple[Any, ...]] = []
        referred: list[tuple[Any, ...]] = []
        for position, event in events:
            scope = self._scope(cur, event, scopes)
            name = event_name(event)
            indexed.append((position, name, scope.tenant_id, str(event.originator_id)))
            for kind, ref_id in sorted(refs_of(event, scope)):
                referred.append((kind, ref_id, position, name, scope.tenant_id))
        _write_scopes(cur, scopes)
        if indexed:
            cur.executemany(
                "INSERT INTO event_index (position, event_type, tenant_id, aggregate_id) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (position) DO NOTHING",
                indexed,
                types=("bigint", "text", "text", "text"),
            )
        if referred:
            cur.executemany(
                "INSERT INTO event_refs (kind, ref_id, position, event_type, tenant_id) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, ref_id, position) DO NOTHING",
                referred,
                types=("text", "text", "bigint", "text", "text"),
            )

    def _scope(self, cur: ViewCursor, event: Any, scopes: list[tuple[Any, ...]]) -> AggregateScope:
        """The aggregate's scope; at its first event, also the row to write into `scopes`."""
        aggregate_id = str(event.originator_id)
        if event.originator_version == 1:
            # Written even when remembered: a rolled-back batch may have lost the row.
            found = scope_of(event)
            scopes.append((aggregate_id, *found))
        else:
            known = self._scopes.get(aggregate_id)
            if known is not None:
                self._scopes.move_to_end(aggregate_id)
                return known
            _write_scopes(cur, scopes)  # a scope of this batch may have left the memory already
            row = cur.execute(
                "SELECT tenant_id, run_id, session_id FROM event_scopes WHERE aggregate_id = ?",
                (aggregate_id,),
            ).fetchone()
            if row is None:  # its first event could not be read: no tenant, as `/events` sees it
                return AggregateScope(None, None, None)
            found = AggregateScope(row["tenant_id"], row["run_id"], row["session_id"])
        self._scopes[aggregate_id] = found
        if len(self._scopes) > self._cache_size:
            self._scopes.popitem(last=False)
        return found


def _write_scopes(cur: ViewCursor, scopes: list[tuple[Any, ...]]) -> None:
    """Write the scope rows gathered so far, in one statement, and forget them."""
    if scopes:
        cur.executemany(
            "INSERT INTO event_scopes (aggregate_id, tenant_id, run_id, session_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (aggregate_id) DO NOTHING",
            scopes,
            types=("text", "text", "text", "text"),
        )
        scopes.clear()


def matching_positions(
    cur: ViewCursor,
    *,
    after: int,
    upto: int,
    limit: int,
    tenants: list[str] | None,
    types: list[str],
    run_id: str | None,
    session_id: str | None,
) -> list[int]:
    """Positions in (after, upto] of events matching the filter in the tenants (None: all), in order.

    Each range is an equality prefix of an index followed by the position: one range per type
    (and per tenant without a run or session filter), merged under one ORDER BY ... LIMIT.
    """
    ranges: list[str] = []
    args: list[Any] = []
    each_type: list[str | None] = list(types) or [None]
    if run_id is not None or session_id is not None:
        kind, ref_id = (RUN, run_id) if run_id is not None else (SESSION, session_id)
        for event_type in each_type:
            where = ["x.kind = ?", "x.ref_id = ?", "x.position > ?", "x.position <= ?"]
            params: list[Any] = [kind, ref_id, after, upto]
            if event_type is not None:
                where.append("x.event_type = ?")
                params.append(event_type)
            if tenants is not None:  # a run's or session's events are of its tenant: few are dropped
                where.append(f"x.tenant_id IN ({', '.join('?' for _ in tenants) or 'NULL'})")
                params.extend(tenants)
            if run_id is not None and session_id is not None:
                where.append(
                    "EXISTS (SELECT 1 FROM event_refs y WHERE y.kind = ? AND y.ref_id = ? "
                    "AND y.position = x.position)"
                )
                params.extend([SESSION, session_id])
            ranges.append(_range("event_refs x", where, len(ranges)))
            args.extend([*params, limit])
    else:
        for tenant in tenants if tenants is not None else [None]:
            for event_type in each_type:
                where, params = ["x.position > ?", "x.position <= ?"], [after, upto]
                if tenant is not None:
                    where.append("x.tenant_id = ?")
                    params.append(tenant)
                if event_type is not None:
                    where.append("x.event_type = ?")
                    params.append(event_type)
                ranges.append(_range("event_index x", where, len(ranges)))
                args.extend([*params, limit])
    if not ranges:
        return []
    rows = cur.execute(
        f"SELECT position FROM ({' UNION ALL '.join(ranges)}) q ORDER BY position LIMIT ?", (*args, limit)
    ).fetchall()
    return [int(r["position"]) for r in rows]


def _range(table: str, where: list[str], k: int) -> str:
    condition = " AND ".join(where)
    return (
        f"SELECT * FROM (SELECT x.position FROM {table} WHERE {condition} ORDER BY x.position LIMIT ?) r{k}"
    )
