"""Runs projections over the log: batched, exactly-once, resumable, woken by signals.

Each batch is folded into every projection and their positions advanced in one view
transaction. Positions are re-read under a row lock inside that transaction, and an event is
applied only above a projection's position, so a batch is never applied twice, even by two
runners at once. Wake-ups come from in-process saves, LISTEN/NOTIFY, and a poll timer.

Each projection folds the batch inside a savepoint of its own (ADR 0031): when its fold raises
on an event, only that projection is rolled back, re-folded up to just before the event, and
tried again later with backoff; after `max_tries` it is stalled there (persisted in its
positions row) until `agentrun projections retry|skip`. The others go on in the same transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from domain.base import event_name
from infrastructure.database import Cursor, Database
from infrastructure.event_log import EventLog
from infrastructure.leader_lock import LocalLock
from infrastructure.projection_state import (
    RETRY,
    Skips,
    add_rows,
    create_positions_table,
    load_skips,
    mark_stalled,
    read_positions,
    read_states,
    set_position,
    set_positions,
    take_retry,
)
from infrastructure.signals import Signal
from projections.base import Projection

log = logging.getLogger(__name__)

__all__ = ["ADVANCED_CHANNEL", "ProjectionRunner", "create_tables"]

ADVANCED_CHANNEL = "agentrun_projections"
SCHEMA_LOCK_KEY = 0x6167_656E_7473_6368
# Errors of the connection, not of the event: the whole batch is retried, no projection is blamed.
CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


def create_tables(db: Database, projections: Sequence[Projection]) -> None:
    """Create the view tables and a position row per projection, if missing."""
    with db.transaction() as cur:
        if db.dialect == "postgres":
            # Replicas starting together must not race on CREATE TABLE IF NOT EXISTS.
            cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK_KEY,))
        create_positions_table(cur, db.dialect)
        for projection in projections:
            for statement in projection.create_statements():
                cur.execute(statement)
        add_rows(cur, [projection.name for projection in projections])


@dataclass(frozen=True)
class Undecodable:
    """A stored event that cannot be decoded (an upcast bug): it poisons the projections folding its type."""

    topic: str
    error: Exception

    @property
    def name(self) -> str:
        return self.topic.rpartition(":")[2]


def decode_or_poison(log_: EventLog, notification: Any) -> Any:
    try:
        return log_.decode(notification)
    except Exception as error:  # noqa: BLE001 - blamed on the projections that fold it, not all
        return Undecodable(notification.topic, error)


def fold(projection: Projection, cur: Any, event: Any, position: int) -> None:
    """Apply one event; an undecodable one raises only where the projection folds its type."""
    if isinstance(event, Undecodable):
        if projection.folds(event.name):
            raise event.error
        return
    projection.apply(cur, event, position)


def fold_all(projection: Projection, cur: Any, events: list[tuple[int, Any]]) -> None:
    """Apply a batch in as few statements as the projection can (`Projection.apply_batch`)."""
    for _, event in events:
        if isinstance(event, Undecodable) and projection.folds(event.name):
            raise event.error
    projection.apply_batch(cur, [(p, e) for p, e in events if not isinstance(e, Undecodable)])


def type_of(event: Any) -> str:
    return event.name if isinstance(event, Undecodable) else event_name(event)


@dataclass
class Failure:
    """A projection failing on one event: how often, and when to try again."""

    position: int
    event_type: str
    message: str
    tries: int
    retry_at: float


class ProjectionRunner:
    """A background thread folding the log into the views."""

    def __init__(
        self,
        log_: EventLog,
        db: Database,
        projections: Sequence[Projection],
        *,
        events_signal: Signal,
        advanced_signal: Signal,
        leader: Any = None,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        max_tries: int = 5,
        retry_backoff: float = 0.2,
        skips: Skips | None = None,
    ) -> None:
        self.log = log_
        self.db = db
        self.projections = list(projections)
        self.events_signal = events_signal
        self.advanced_signal = advanced_signal
        self.leader = leader or LocalLock()
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_tries = max_tries
        self.retry_backoff = retry_backoff
        self.error: str | None = None
        self.failures: dict[str, Failure] = {}
        self._skips = skips
        # Per projection, twice the batches that wrote to it since this process began to lead: odd
        # while one is being written (`written`).
        self._written: dict[str, int] = {}
        self._leading = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopped.clear()
        self._thread = threading.Thread(target=self._run, name="projection-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self.events_signal.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.leader.release()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def written(self, name: str) -> int | None:
        """A count that moves whenever a batch writes to the projection, while this process is the
        one folding. None while a batch is being written to it (read the views: a copy made now
        may miss what that batch commits) and when another process may be writing the views."""
        count = self._written.get(name, 0)
        return count if self._leading and count % 2 == 0 else None

    def _lead(self) -> bool:
        leading = self.leader.acquire()
        if leading and not self._leading:
            # Another process may have folded while this one did not: every count moves on.
            for projection in self.projections:
                self._wrote(projection.name, 2)
        self._leading = leading
        return leading

    def _wrote(self, name: str, by: int = 1) -> None:
        self._written[name] = self._written.get(name, 0) + by

    def _run(self) -> None:
        backoff = self.poll_interval
        while not self._stopped.is_set():
            generation = self.events_signal.generation
            try:
                processed = self.run_once() if self._lead() else 0
                self.error = None
                backoff = self.poll_interval
            except Exception as error:  # noqa: BLE001 - keep running through outages
                self.error = f"{type(error).__name__}: {error}"
                log.warning("projection batch failed, retrying: %s", self.error)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if processed == 0:
                self.events_signal.wait(generation, self._idle_wait())

    def _idle_wait(self) -> float:
        """Until the next poll, or sooner when a failing projection is due to be tried again."""
        if not self.failures:
            return self.poll_interval
        due = min(f.retry_at for f in self.failures.values())
        return max(min(self.poll_interval, due - time.monotonic()), 0.001)

    def run_once(self, upto: int | None = None) -> int:
        """Fold the next batch (no further than `upto`); returns how many events were read (0: caught up)."""
        names = [p.name for p in self.projections]
        with self.db.read() as cur:
            seen = read_states(cur, names)
        for state in seen.values():
            if state.stalled:  # the row, not this process's memory, says what is stalled
                self.failures.pop(state.name, None)
        self._take_retries([s.name for s in seen.values() if s.status == RETRY])
        if self._skips is None:
            self._skips = load_skips(self.log)
        now = time.monotonic()
        active = [
            p
            for p in self.projections
            if p.name in seen and not seen[p.name].stalled and self._due(p.name, now)
        ]
        if not active:
            return 0
        low = min(seen[p.name].position for p in active)
        notifications = self.log.notifications(after=low, limit=self.batch_size, upto=upto)
        if not notifications:
            return 0
        events = [(n.id, decode_or_poison(self.log, n)) for n in notifications]
        last = notifications[-1].id
        writing = [p.name for p in active if any(p.writes_for(type_of(e)) for _, e in events)]
        for name in writing:  # odd: a batch of these is being written
            self._wrote(name)
        try:
            with self.db.transaction() as cur:
                current = read_states(cur, names, lock=self.db.dialect == "postgres")
                passed: list[str] = []
                for projection in active:
                    row = current.get(projection.name)
                    if row is None or row.stalled or row.position >= last:
                        continue
                    if self._fold_batch(cur, projection, events, row.position, last):
                        passed.append(projection.name)
                # The projections that took the whole batch move to its end together, in one statement.
                set_positions(cur, passed, last)
                self.db.notify(cur, ADVANCED_CHANNEL)
        finally:
            for name in writing:  # even again, and moved on: a copy made before is stale
                self._wrote(name)
        self.advanced_signal.notify()
        return len(notifications)

    def _due(self, name: str, now: float) -> bool:
        failure = self.failures.get(name)
        return failure is None or failure.retry_at <= now

    def _take_retries(self, names: list[str]) -> None:
        """Clear the stalls an operator asked to retry (or skipped); the skips are read again."""
        if not names:
            return
        self._skips = None
        with self.db.transaction() as cur:
            for name in names:
                take_retry(cur, name)
                self.failures.pop(name, None)
        log.info("projections %s: trying again", ", ".join(names))

    def _fold_batch(
        self, cur: Cursor, projection: Projection, events: list[tuple[int, Any]], start: int, last: int
    ) -> bool:
        """Fold the batch into one projection inside a savepoint; True when it took the whole batch
        (its position is the caller's to move), else it stopped just before a failing event."""
        skips = self._skips or set()
        todo = [(p, e) for p, e in events if p > start and (projection.name, p) not in skips]
        if not any(projection.writes_for(type_of(e)) for _, e in todo):
            self.failures.pop(projection.name, None)
            return True  # nothing it writes: no savepoint, no fold
        failing: tuple[int, Any] = (start, None)
        cur.execute("SAVEPOINT projection_fold")
        try:
            fold_all(projection, cur, todo)
        except CONNECTION_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - a poison event in there: fold one by one to find it
            cur.execute("ROLLBACK TO SAVEPOINT projection_fold")
            try:
                for position, event in todo:
                    failing = (position, event)
                    fold(projection, cur, event, position)
            except CONNECTION_ERRORS:
                raise
            except Exception as error:  # noqa: BLE001 - a poison event is this projection's alone
                cur.execute("ROLLBACK TO SAVEPOINT projection_fold")
                reached = self._fold_before(cur, projection, todo, start, failing[0], events)
                cur.execute("RELEASE SAVEPOINT projection_fold")
                set_position(cur, projection.name, reached)
                self._failed(cur, projection.name, failing[0], type_of(failing[1]), error)
                return False
        cur.execute("RELEASE SAVEPOINT projection_fold")
        self.failures.pop(projection.name, None)
        return True

    def _fold_before(
        self,
        cur: Cursor,
        projection: Projection,
        todo: list[tuple[int, Any]],
        start: int,
        failing: int,
        events: list[tuple[int, Any]],
    ) -> int:
        """Re-fold the events before the failing one; returns the position reached (just before it)."""
        try:
            for position, event in todo:
                if position >= failing:
                    break
                fold(projection, cur, event, position)
        except CONNECTION_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - not deterministic: leave the projection where it was
            cur.execute("ROLLBACK TO SAVEPOINT projection_fold")
            return start
        return max([p for p, _ in events if p < failing] + [start])

    def _failed(self, cur: Cursor, name: str, position: int, event_type: str, error: Exception) -> None:
        previous = self.failures.get(name)
        tries = previous.tries + 1 if previous and previous.position == position else 1
        message = f"{type(error).__name__}: {error}"
        delay = min(self.retry_backoff * 2 ** (tries - 1), 30.0)
        self.failures[name] = Failure(position, event_type, message, tries, time.monotonic() + delay)
        # A skip recorded meanwhile is found on the next batch.
        self._skips = None
        if tries < self.max_tries:
            log.warning("projection %s failed on position %s (try %s): %s", name, position, tries, message)
            return
        since = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        error_row = {"position": position, "eventType": event_type, "message": message, "since": since}
        mark_stalled(cur, name, error_row)
        log.error("projection %s stalled at position %s after %s tries: %s", name, position, tries, message)

    def catch_up(self) -> None:
        """Fold until the views reach the head of the log (for tools and tests)."""
        while self.run_once():
            pass

    def positions(self) -> dict[str, int]:
        with self.db.read() as cur:
            return read_positions(cur, self._names())

    def _names(self) -> list[str]:
        return [p.name for p in self.projections]
