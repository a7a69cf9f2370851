"""What the use cases need from the outside, as protocols the infrastructure implements."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from domain.base import Aggregate
from projections.base import ViewCursor

Clock = Callable[[], datetime]


class EventStore(Protocol):
    def get(self, aggregate_id: str) -> Any: ...

    def save(self, *aggregates: Aggregate) -> list[int]: ...

    def head(self) -> int: ...

    def position_of(self, aggregate_id: str) -> int: ...

    def aggregate_events(self, aggregate_id: str, gt: int, lte: int) -> list[tuple[int, Any]]: ...


class Views(Protocol):
    def wait_for(self, position: int | None, timeout: float) -> bool:
        """Wait until every projection has processed `position` (None: the head now)."""
        ...

    def read(self) -> AbstractContextManager[ViewCursor]: ...
