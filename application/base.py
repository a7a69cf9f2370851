"""What every use case shares: the store, the views, the clock, and loading with scoping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from application.access import Principal, check_visible
from application.errors import NotFoundError, ReadTimeoutError
from application.ports import Clock, EventStore, Views
from domain.base import Aggregate

A = TypeVar("A", bound=Aggregate)


class UseCases:
    # The projections this use case reads; a stalled one makes only their reads unavailable.
    reads: ClassVar[tuple[str, ...]] = ()

    def __init__(self, store: EventStore, views: Views, clock: Clock, read_timeout: float = 5.0):
        self.store = store
        self.views = views
        self.clock = clock
        self.read_timeout = read_timeout

    def load(
        self, cls: type[A], aggregate_id: str, principal: Principal, what: str, remembered: bool = False
    ) -> A:
        """The aggregate, or `not-found` when it is missing, of another type, or not visible.

        `remembered` allows this replica's memory of the aggregate (see `EventStore.get`): the caller
        then re-decides any rejection on a fresh load (`decide_fresh`).
        """
        aggregate = self.store.get(aggregate_id, remembered=remembered)
        if not isinstance(aggregate, cls):
            raise NotFoundError(f"{what} {aggregate_id} was not found")
        tenant_id: Any = getattr(aggregate, "tenant_id", None)
        if tenant_id is not None:
            check_visible(principal, tenant_id, what, aggregate_id)
        return aggregate

    def read(
        self, cls: type[A], aggregate_id: str, principal: Principal, what: str, extra: Any = None
    ) -> tuple[A, int, dict[int, tuple[int, Any]]]:
        """For reads only: the aggregate (not to be changed), the position of its last event and the
        versions `extra(held)` names, in one query (see `EventStore.read`); scoped as `load`."""
        aggregate, position, fetched = self.store.read(aggregate_id, extra)
        if not isinstance(aggregate, cls):
            raise NotFoundError(f"{what} {aggregate_id} was not found")
        tenant_id: Any = getattr(aggregate, "tenant_id", None)
        if tenant_id is not None:
            check_visible(principal, tenant_id, what, aggregate_id)
        return aggregate, position, fetched

    def views_reached(self, min_position: int | None, projections: Sequence[str] = ()) -> bool:
        """Whether the views read here reached `min_position` (default: the head) within the timeout."""
        names = list(projections or self.reads) or None
        return self.views.wait_for(min_position, self.read_timeout, names)

    def wait_for_views(self, min_position: int | None, projections: Sequence[str] = ()) -> None:
        """Read-your-writes: wait until the views read here reach `min_position` (default: the head)."""
        if not self.views_reached(min_position, projections):
            raise ReadTimeoutError(
                f"views did not reach position {min_position} within {self.read_timeout:g}s",
                minPosition=min_position,
            )
