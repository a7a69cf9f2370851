"""What the use cases need from the outside, as protocols the infrastructure implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from domain.base import Aggregate
from projections.base import ViewCursor

Clock = Callable[[], datetime]


class EventStore(Protocol):
    def get(self, aggregate_id: str, remembered: bool = False) -> Any:
        """The aggregate as of its last event; `remembered` may answer from this replica's memory
        of what it last saved, without a read (possibly stale: only a compare-and-set may trust it)."""
        ...

    def save(self, *aggregates: Aggregate) -> list[int]: ...

    def writing(self, aggregate_id: str) -> AbstractContextManager[None]:
        """Hold while loading, deciding and saving: one writer of the aggregate at a time here."""
        ...

    def head(self) -> int: ...

    def position_of(self, aggregate_id: str) -> int: ...

    def read(
        self, aggregate_id: str, extra: Callable[[Any], tuple[int, int] | None] | None = None
    ) -> tuple[Any, int, dict[int, tuple[int, Any]]]:
        """For reads: the aggregate (shared, never to be changed), the position of its last event,
        and the events (position, event) by version of the range `extra(held aggregate)` names,
        in one query when this replica has read the aggregate before."""
        ...

    def aggregate_events(self, aggregate_id: str, gt: int, lte: int) -> list[tuple[int, Any]]: ...


class Views(Protocol):
    def wait_for(self, position: int | None, timeout: float, names: Sequence[str] | None = None) -> bool:
        """Wait until the named projections (None: all) have processed `position` (None: the head now)."""
        ...

    def read(self) -> AbstractContextManager[ViewCursor]: ...

    def version(self, name: str) -> int | None:
        """A number that changes whenever the projection's rows may have (None: unknown here); a
        copy of its rows kept in memory is current while the number stands still."""
        ...
