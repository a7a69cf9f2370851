"""Operator actions on a stalled projection: skip the poison event (recorded in the log), or retry."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any, Protocol

from application.errors import NotFoundError
from application.ports import Clock, EventStore
from domain.errors import ConcurrencyError, ConflictError
from domain.projection_skip import ProjectionSkip, projection_skip_id


class StallBoard(Protocol):
    """Where the runner records stalls and reads retry requests (the projection positions)."""

    def stall_of(self, name: str) -> dict[str, Any] | None:
        """The stall's error `{position, eventType, message, since}`, or None when not stalled."""
        ...

    def request_retry(self, name: str) -> dict[str, Any] | None:
        """Ask the runner to try the stalled projection again; its stall, or None when not stalled."""
        ...


class ProjectionSkips:
    """Skip and retry, for `agentrun projections skip|retry`."""

    def __init__(self, store: EventStore, board: StallBoard, clock: Clock, names: Sequence[str]) -> None:
        self.store = store
        self.board = board
        self.clock = clock
        self.names = list(names)

    def _known(self, name: str) -> None:
        if name not in self.names:
            raise NotFoundError(
                f"no projection named {name!r}; known: {', '.join(self.names)}", projection=name
            )

    def skip(self, name: str, position: int, reason: str) -> tuple[int, dict[str, Any]]:
        """Record that `name` passes over the event it is stalled on; returns (skip position, stall)."""
        self._known(name)
        ProjectionSkip.check_skip(name, position, reason)
        stall = self.board.stall_of(name)
        if stall is None or int(stall["position"]) != position:
            where = "is not stalled" if stall is None else f"is stalled at position {stall['position']}"
            raise ConflictError(
                f"projection {name} {where}; only the event it is stalled on can be skipped",
                projection=name,
                position=position,
            )
        if self.store.get(projection_skip_id(name, position)) is None:
            skip = ProjectionSkip.record(name, position, reason, self.clock(), stall.get("eventType"))
            # Someone recording the same skip at the same moment has recorded it.
            with suppress(ConcurrencyError):
                self.store.save(skip)
        self.board.request_retry(name)
        return self.store.position_of(projection_skip_id(name, position)), stall

    def retry(self, name: str) -> dict[str, Any]:
        """Clear the stall so the runner tries the event again (after a fix); returns the stall."""
        self._known(name)
        stall = self.board.request_retry(name)
        if stall is None:
            raise ConflictError(f"projection {name} is not stalled; nothing to retry", projection=name)
        return stall
