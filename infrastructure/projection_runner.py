"""Runs projections over the log: batched, exactly-once, resumable, woken by signals.

Each batch is folded into every projection and their positions advanced in one view
transaction. Positions are re-read under a row lock inside that transaction, and an event is
applied only above a projection's position, so a batch is never applied twice, even by two
runners at once. Wake-ups come from in-process saves, LISTEN/NOTIFY, and a poll timer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from infrastructure.database import Database
from infrastructure.event_log import EventLog
from infrastructure.leader_lock import LocalLock
from infrastructure.signals import Signal
from projections.base import Projection

log = logging.getLogger(__name__)

POSITIONS_TABLE = "projection_positions"
ADVANCED_CHANNEL = "agentrun_projections"
SCHEMA_LOCK_KEY = 0x6167_656E_7473_6368


def create_tables(db: Database, projections: Sequence[Projection]) -> None:
    """Create the view tables and a position row per projection, if missing."""
    with db.transaction() as cur:
        if db.dialect == "postgres":
            # Replicas starting together must not race on CREATE TABLE IF NOT EXISTS.
            cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK_KEY,))
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {POSITIONS_TABLE} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
        )
        for projection in projections:
            for statement in projection.create_statements():
                cur.execute(statement)
            cur.execute(
                f"INSERT INTO {POSITIONS_TABLE} (name, position) VALUES (?, 0) ON CONFLICT (name) DO NOTHING",
                (projection.name,),
            )


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
    ) -> None:
        self.log = log_
        self.db = db
        self.projections = list(projections)
        self.events_signal = events_signal
        self.advanced_signal = advanced_signal
        self.leader = leader or LocalLock()
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.error: str | None = None
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

    def _run(self) -> None:
        backoff = self.poll_interval
        while not self._stopped.is_set():
            generation = self.events_signal.generation
            try:
                processed = self.run_once() if self.leader.acquire() else 0
                self.error = None
                backoff = self.poll_interval
            except Exception as error:  # noqa: BLE001 - keep running through outages
                self.error = f"{type(error).__name__}: {error}"
                log.warning("projection batch failed, retrying: %s", self.error)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if processed == 0:
                self.events_signal.wait(generation, self.poll_interval)

    def run_once(self, upto: int | None = None) -> int:
        """Fold the next batch (no further than `upto`); returns how many events were read (0: caught up)."""
        low = min(self.positions().values(), default=0)
        notifications = self.log.notifications(after=low, limit=self.batch_size, upto=upto)
        if not notifications:
            return 0
        events = [(n.id, self.log.decode(n)) for n in notifications]
        last = notifications[-1].id
        with self.db.transaction() as cur:
            lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
            rows = cur.execute(f"SELECT name, position FROM {POSITIONS_TABLE} ORDER BY name{lock}").fetchall()
            current = {row["name"]: row["position"] for row in rows}
            for projection in self.projections:
                start = current.get(projection.name, 0)
                if start >= last:
                    continue
                for position, event in events:
                    if position > start:
                        projection.apply(cur, event, position)
                cur.execute(
                    f"UPDATE {POSITIONS_TABLE} SET position = ? WHERE name = ?",
                    (last, projection.name),
                )
            self.db.notify(cur, ADVANCED_CHANNEL)
        self.advanced_signal.notify()
        return len(notifications)

    def catch_up(self) -> None:
        """Fold until the views reach the head of the log (for tools and tests)."""
        while self.run_once():
            pass

    def positions(self) -> dict[str, int]:
        rows = self.db.fetchall(f"SELECT name, position FROM {POSITIONS_TABLE}")
        names = {p.name for p in self.projections}
        return {row["name"]: row["position"] for row in rows if row["name"] in names}
