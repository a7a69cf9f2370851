"""Reading the log for tails and audits: position order, decoded, on a pool of its own.

On PostgreSQL the tail reads on its own small pool (application name `agentrun-tail`), so a slow
or stuck tail never takes connections from writers, and operators can find its connections.
Reading `notification_id > after ORDER BY notification_id` is safe because writers commit
positions in order under the recorder's table lock: no later read can find a smaller position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification
from psycopg_pool import ConnectionPool

from infrastructure.availability import CONNECT_TIMEOUT, Availability, gated_connection
from infrastructure.event_log import EventLog

TAIL_APPLICATION_NAME = "agentrun-tail"


class LogReader:
    """Decoded events of the log after a position, and the events of one aggregate."""

    def __init__(
        self, log: EventLog, conninfo: str | None = None, pool_size: int = 4, gate: Availability | None = None
    ) -> None:
        self.log = log
        self._gate = gate
        self._pool: ConnectionPool | None = None
        if conninfo is not None:
            self._pool = ConnectionPool(
                conninfo,
                min_size=1,
                max_size=pool_size,
                kwargs={
                    "autocommit": True,
                    "application_name": TAIL_APPLICATION_NAME,
                    "connect_timeout": CONNECT_TIMEOUT,
                },
                check=ConnectionPool.check_connection,
                timeout=5,
                open=True,
                name="agentrun-tail",
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    @property
    def pool(self) -> ConnectionPool | None:
        """Its own pool on PostgreSQL (None on SQLite, where it reads through the log)."""
        return self._pool

    def _connection(self) -> Any:
        assert self._pool is not None
        return gated_connection(self._pool, self._gate, self._pool.timeout)

    def head(self) -> int:
        if self._pool is None:
            return self.log.head()
        with self._connection() as conn:
            row = conn.execute(f"SELECT MAX(notification_id) FROM {self.log.table}").fetchone()
        return int(row[0] or 0) if row else 0

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        """Up to `limit` (position, event) after `after`, in position order."""
        return [(n.id, self.log.decode(n)) for n in self.notifications(after, limit)]

    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        if self._pool is None:
            return self.log.notifications(after=after, limit=limit)
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {self.log.table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                (after, limit),
            ).fetchall()
        return [
            Notification(id=r[0], originator_id=r[1], originator_version=r[2], topic=r[3], state=bytes(r[4]))
            for r in rows
        ]

    def at(self, positions: list[int]) -> list[tuple[int, Any]]:
        """(position, event) at these positions (those the log holds), in position order."""
        if not positions:
            return []
        if self._pool is None:
            column = "notification_id" if self.log.is_postgres else "rowid"
            marks = ", ".join("?" for _ in positions)
            rows = self.log._query(
                f"SELECT {column} AS position, originator_id, originator_version, topic, state "
                f"FROM {self.log.table} WHERE {column} IN ({marks}) ORDER BY {column}",
                tuple(positions),
            )
            keys = ("position", "originator_id", "originator_version", "topic", "state")
            found = [tuple(r[k] for k in keys) for r in rows]
        else:
            with self._connection() as conn:
                found = conn.execute(
                    "SELECT notification_id, originator_id, originator_version, topic, state "
                    f"FROM {self.log.table} WHERE notification_id = ANY(%s) ORDER BY notification_id",
                    (positions,),
                ).fetchall()
        return [
            (
                int(r[0]),
                self.log.decode(
                    Notification(
                        id=int(r[0]), originator_id=r[1], originator_version=r[2], topic=r[3],
                        state=bytes(r[4]),
                    )
                ),
            )
            for r in found
        ]

    def aggregate(self, aggregate_id: str, upto_version: int | None = None) -> list[tuple[int, Any]]:
        """(position, event) of an aggregate's events, in version order (up to a version if given)."""
        top = upto_version if upto_version is not None else 2**62
        return self.log.aggregate_events(aggregate_id, 0, top)

    def first(self, aggregate_id: str) -> Any:
        """The aggregate's first event, or None."""
        events = self.log.aggregate_events(aggregate_id, 0, 1)
        return events[0][1] if events else None
