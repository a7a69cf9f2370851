"""The event store's PostgreSQL recorder, with retries bounded in time and a gate that fails fast.

The library retries every read and insert 10 times, each after waiting up to its connect timeout
for a pooled connection: 22 s before a request learns that the database is down. This recorder
runs the library's own methods without that retry, under `bounded`: waits for a connection are
sliced so a closed gate ends them, and a connection that dies under a query is retried for
`IN_DOUBT_WINDOW` only (long enough for a commit whose outcome is unknown to meet its own first
attempt when the database comes straight back, ADR 0028; short enough to answer 503 within 2 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresDatastore
from psycopg_pool import PoolTimeout

from infrastructure.availability import CHECKOUT_SLICE, CONNECT_TIMEOUT, Availability, fast_pool_reconnects
from infrastructure.connection_check import use_cheap_check

T = TypeVar("T")

RETRIED = (InterfaceError, OperationalError)
# How long a caller may wait for a free connection while the database answers (load, not outage).
CHECKOUT_BUDGET = 5.0
# How long a query whose connection died is retried, whatever the gate says.
IN_DOUBT_WINDOW = 1.5


def _unretried(method: Any) -> Any:
    # The library's `@retry` keeps the plain function as `__wrapped__` (functools.wraps).
    return method.__wrapped__


_insert_events = _unretried(PostgresApplicationRecorder.insert_events)
_select_notifications = _unretried(PostgresApplicationRecorder.select_notifications)
_max_notification_id = _unretried(PostgresApplicationRecorder.max_notification_id)
_select_events = _unretried(PostgresAggregateRecorder.select_events)


class FailFastRecorder(PostgresApplicationRecorder):
    """PostgresApplicationRecorder whose retries end when the database is known to be away."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.gate: Availability | None = None
        fast_pool_reconnects()
        pool: Any = datastore.pool
        pool.timeout = CHECKOUT_SLICE
        # The pool's own reconnects would otherwise wait on an unanswered SYN for minutes.
        pool.kwargs["connect_timeout"] = CONNECT_TIMEOUT
        # Pre-ping's round trip per checkout, replaced by a look at the socket.
        use_cheap_check(pool)

    def bounded(self, action: Callable[[], T]) -> T:
        """Run `action`, retrying connection failures within the budgets above."""
        started = time.monotonic()
        broke_at: float | None = None
        while True:
            in_doubt = broke_at is not None and time.monotonic() - broke_at < IN_DOUBT_WINDOW
            if self.gate is not None and not in_doubt:
                self.gate.check()
            try:
                return action()
            except RETRIED as error:
                now = time.monotonic()
                if isinstance(error.__cause__, PoolTimeout):
                    if now - started >= CHECKOUT_BUDGET:
                        raise
                    continue
                broke_at = broke_at or now
                if self.gate is not None:
                    self.gate.suspect()
                if now - broke_at >= IN_DOUBT_WINDOW:
                    raise
                time.sleep(0.1)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        result: Sequence[int] | None = self.bounded(lambda: _insert_events(self, stored_events, **kwargs))
        return result

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        result: Sequence[Notification] = self.bounded(
            lambda: _select_notifications(
                self, start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
        )
        return result

    def max_notification_id(self) -> int | None:
        result: int | None = self.bounded(lambda: _max_notification_id(self))
        return result

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        result: Sequence[StoredEvent] = self.bounded(
            lambda: _select_events(self, originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        )
        return result

    def query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Rows of one read of our own (`%s` placeholders), under the same bounds."""

        def run() -> list[Any]:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(sql, params)
                return list(curs.fetchall())

        return self.bounded(run)
