"""Reads of one aggregate with the position of its last event, in one query, whatever its length.

A reader keeps the latest aggregate it read of each id (a bounded LRU) with that position. A read
then asks only for the events after the version it holds (and, in the same statement, any older
versions the caller wants, such as a page of run events); a cold read asks for the latest snapshot
and the events from its version on (the event at the snapshot's version gives the position).
Applied events go to a copy, so a reader holding an older aggregate never sees it change.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Notification

from domain.snapshot import Snapshot

log = logging.getLogger(__name__)

Query = Callable[[str, tuple[Any, ...]], list[Any]]
Decode = Callable[[Notification], Any]
Extra = Callable[[Any], tuple[int, int] | None]
# (aggregate or None, position of its last event, {version: (position, event)} fetched)
Read = tuple[Any, int, dict[int, tuple[int, Any]]]


class PositionedReads:
    """`read(id)` → (aggregate or None, position of its last event, {version: (position, event)})."""

    def __init__(
        self,
        query: Query,
        decode: Decode,
        events: str,
        snapshots: str,
        position: str,
        on_long_replay: Callable[[Any], None] = lambda aggregate: None,
        size: int = 1_000,
    ) -> None:
        self._query = query
        self._decode = decode
        self._events = events
        self._snapshots = snapshots
        self._position = position
        self._size = size
        # Called with an aggregate whose cold read replayed more than its snapshot interval of
        # events (one saved before snapshots existed), so the next cold read does not.
        self._on_long_replay = on_long_replay
        self._held: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, aggregate_id: str, extra: Extra | None = None) -> Read:
        """The aggregate as of its last event; `extra(held)` names versions (gt, lte] of the held
        aggregate to fetch as well (they are returned with any new events)."""
        with self._lock:
            held = self._held.get(aggregate_id)
        if held is None:
            return self._cold(aggregate_id)
        aggregate, position = held
        wanted = extra(aggregate) if extra is not None else None
        columns = f"{self._position} AS position, originator_version, topic, state FROM {self._events}"
        sql = f"SELECT 1 AS part, {columns} WHERE originator_id = ? AND originator_version > ?"
        params: tuple[Any, ...] = (aggregate_id, aggregate.version)
        if wanted is not None:
            sql += (
                f" UNION ALL SELECT 0 AS part, {columns} WHERE originator_id = ? "
                "AND originator_version > ? AND originator_version <= ?"
            )
            params += (aggregate_id, wanted[0], min(wanted[1], aggregate.version))
        rows = self._query(f"{sql} ORDER BY originator_version", params)
        fetched = {
            row["originator_version"]: (int(row["position"]), self._event(aggregate_id, row)) for row in rows
        }
        new = [fetched[row["originator_version"]] for row in rows if row["part"] == 1]
        if new:
            aggregate = copy.deepcopy(aggregate)
            for _, event in new:
                event.mutate(aggregate)
            position = new[-1][0]
            self._hold(aggregate_id, aggregate, position)
        return aggregate, position, fetched

    def forget(self, aggregate_id: str) -> None:
        with self._lock:
            self._held.pop(aggregate_id, None)

    def _cold(self, aggregate_id: str) -> Read:
        latest = f"(SELECT MAX(originator_version) FROM {self._snapshots} WHERE originator_id = ?)"
        rows = self._query(
            f"SELECT 0 AS part, 0 AS position, originator_version, topic, state FROM {self._snapshots} "
            f"WHERE originator_id = ? AND originator_version = {latest} UNION ALL "
            f"SELECT 1 AS part, {self._position} AS position, originator_version, topic, state "
            f"FROM {self._events} WHERE originator_id = ? AND originator_version >= COALESCE({latest}, 1) "
            "ORDER BY part, originator_version",
            (aggregate_id, aggregate_id, aggregate_id, aggregate_id),
        )
        aggregate: Any = None
        position = 0
        fetched: dict[int, tuple[int, Any]] = {}
        for row in rows:
            event = self._event(aggregate_id, row)
            if row["part"] == 0:
                aggregate = event.mutate(None)
                continue
            position = int(row["position"])
            fetched[row["originator_version"]] = (position, event)
            if aggregate is None or row["originator_version"] > aggregate.version:
                aggregate = event.mutate(aggregate)
        if aggregate is not None:
            self._hold(aggregate_id, aggregate, position)
            interval = getattr(type(aggregate), "snapshot_interval", None)
            if interval and len(fetched) > interval:
                self._on_long_replay(aggregate)
        return aggregate, position, fetched

    def _event(self, aggregate_id: str, row: Any) -> Any:
        return self._decode(
            Notification(
                id=int(row["position"]),
                originator_id=aggregate_id,
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
        )

    def _hold(self, aggregate_id: str, aggregate: Any, position: int) -> None:
        with self._lock:
            current = self._held.get(aggregate_id)
            if current is not None and current[0].version >= aggregate.version:
                return  # another reader already holds a newer one
            self._held[aggregate_id] = (aggregate, position)
            self._held.move_to_end(aggregate_id)
            while len(self._held) > self._size:
                self._held.popitem(last=False)


def snapshots_due(aggregates: Sequence[Any]) -> list[Any]:
    """The aggregates whose pending events cross a multiple of their class's `snapshot_interval`."""
    due = []
    for aggregate in aggregates:
        interval = getattr(type(aggregate), "snapshot_interval", None)
        pending = len(aggregate.pending_events)
        if interval and pending and aggregate.version // interval > (aggregate.version - pending) // interval:
            due.append(aggregate)
    return due


def take_snapshots(app: Any, aggregates: Sequence[Any]) -> None:
    """Store snapshots of just-saved aggregates; a failure only leaves loads replaying further."""
    if not aggregates or app.snapshots is None:
        return
    try:
        app.snapshots.put([Snapshot.take(aggregate) for aggregate in aggregates])
    except Exception as error:  # noqa: BLE001 - a snapshot is an optimisation
        log.warning("snapshot not stored: %s", error)
