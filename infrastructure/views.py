"""Reading the views: wait for a position (read-your-writes), then query."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from infrastructure.database import Cursor, Database
from infrastructure.event_log import EventLog
from infrastructure.projection_state import ProjectionState, states
from infrastructure.signals import Signal, poll_until
from projections.base import ProjectionStalledError


class ViewReader:
    """Waits until the projections a read needs have processed a position; any replica can wait."""

    def __init__(
        self,
        db: Database,
        log: EventLog,
        names: Sequence[str],
        advanced_signal: Signal,
        poll_interval: float = 0.2,
        versions: Callable[[str], int | None] = lambda name: None,
    ) -> None:
        self.db = db
        self.log = log
        self.names = list(names)
        self.advanced_signal = advanced_signal
        self.poll_interval = poll_interval
        self._seen: dict[str, int] = {}
        # The projection runner's count of writes per projection, while this process folds.
        self.versions = versions

    def processed(self, names: Sequence[str] | None = None) -> int:
        """The lowest position the projections (all, or the named ones) have all reached."""
        found = self._states(names or self.names)
        return min((s.position for s in found.values()), default=0)

    def _states(self, names: Sequence[str]) -> dict[str, ProjectionState]:
        found = states(self.db, names)
        for state in found.values():
            self._seen[state.name] = max(self._seen.get(state.name, 0), state.position)
        return found

    def wait_for(self, position: int | None, timeout: float, names: Sequence[str] | None = None) -> bool:
        """Wait until the named projections (default: all) reach `position` (None: the head now).

        A projection stalled below it raises `ProjectionStalledError` at once: waiting cannot help.
        """
        needed = list(names or self.names)
        target = self.log.head() if position is None else position
        if all(self._seen.get(name, 0) >= target for name in needed):
            return True

        def reached() -> bool:
            found = self._states(needed)
            for state in found.values():
                stalled_at = state.stalled_at
                if stalled_at is not None and state.position < target:
                    raise ProjectionStalledError(
                        f"projection {state.name} is stalled at position {stalled_at} "
                        "(see GET /projections); reads that need it past there are unavailable",
                        projection=state.name,
                        position=stalled_at,
                    )
            return all(name in found and found[name].position >= target for name in needed)

        return poll_until(reached, self.advanced_signal, timeout, self.poll_interval)

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with self.db.read() as cur:
            yield cur

    def version(self, name: str) -> int | None:
        return self.versions(name)
