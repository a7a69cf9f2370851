"""Reading the views: wait for a position (read-your-writes), then query."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from infrastructure.database import Cursor, Database
from infrastructure.event_log import EventLog
from infrastructure.projection_runner import POSITIONS_TABLE
from infrastructure.signals import Signal, poll_until


class ViewReader:
    """Waits until every projection has processed a position; any replica can wait."""

    def __init__(
        self,
        db: Database,
        log: EventLog,
        names: Sequence[str],
        advanced_signal: Signal,
        poll_interval: float = 0.2,
    ) -> None:
        self.db = db
        self.log = log
        self.names = list(names)
        self.advanced_signal = advanced_signal
        self.poll_interval = poll_interval
        self._seen = 0

    def processed(self) -> int:
        """The lowest position the projections have all reached."""
        marks = ", ".join("?" for _ in self.names)
        row = self.db.fetchone(
            f"SELECT MIN(position) AS position FROM {POSITIONS_TABLE} WHERE name IN ({marks})",
            self.names,
        )
        position = int(row["position"] or 0) if row else 0
        self._seen = max(self._seen, position)
        return position

    def wait_for(self, position: int | None, timeout: float) -> bool:
        target = self.log.head() if position is None else position
        if target <= self._seen:
            return True
        return poll_until(
            lambda: self.processed() >= target, self.advanced_signal, timeout, self.poll_interval
        )

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with self.db.read() as cur:
            yield cur
