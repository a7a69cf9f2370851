"""What a projection is: named tables, and a fold of events into their rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

from domain.errors import AgentRunError


class ViewCursor(Protocol):
    """A cursor taking `?` placeholders and returning dict rows (see infrastructure.database)."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> ViewCursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], types: Sequence[str] = ...) -> None:
        """`sql` once per row; `types` (PostgreSQL column types) lets an INSERT be one statement."""

    def fetchone(self) -> dict[str, Any] | None: ...

    def fetchall(self) -> list[dict[str, Any]]: ...

    @property
    def rowcount(self) -> int: ...


def within(column: str, values: Sequence[Any]) -> str:
    """`column IN (?, ...)` over these values (their parameters); no values match no row."""
    return f"{column} IN ({', '.join('?' for _ in values) or 'NULL'})"


def in_tenants(tenants: Sequence[str] | None, column: str = "tenant_id") -> tuple[str, list[Any]]:
    """The condition keeping a principal's tenants (`None`: every tenant), and its parameters."""
    if tenants is None:
        return "1 = 1", []
    return within(column, tenants), list(tenants)


class ProjectionStalledError(AgentRunError):
    """A read needs a projection past an event it cannot fold (a poison event): 503 naming it."""

    kind = "unavailable"


Handler = Callable[[Any, ViewCursor, Any, int], None]


def handles(*event_names: str) -> Callable[[Handler], Handler]:
    """Mark a method as the fold of the named events (`Run.Claimed`, ...)."""

    def mark(method: Handler) -> Handler:
        method.__dict__["_handles"] = event_names
        return method

    return mark


class Projection:
    """A read model: `tables` maps each table to its columns DDL; handlers fold events into rows."""

    name: ClassVar[str]
    tables: ClassVar[dict[str, str]]
    indexes: ClassVar[tuple[str, ...]] = ()
    _handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {}
        for attr in vars(cls).values():
            for event_name in getattr(attr, "_handles", ()):
                cls._handlers[event_name] = attr

    def create_statements(self) -> list[str]:
        statements = [
            f"CREATE TABLE IF NOT EXISTS {table} ({columns})" for table, columns in self.tables.items()
        ]
        return statements + list(self.indexes)

    def folds(self, event_name: str) -> bool:
        """Whether this projection folds events of that name (`Run.Claimed`, ...)."""
        return event_name in self._handlers

    def writes_for(self, event_name: str) -> bool:
        """Whether folding an event of that name may write a row: a batch with none is not folded,
        only passed (the runner moves the position). A projection folding by its handlers writes
        for their events only; one with an `apply` of its own, for any."""
        return type(self).apply is not Projection.apply or self.folds(event_name)

    def apply(self, cur: ViewCursor, event: Any, position: int) -> None:
        """Fold one event at its log position; events this projection ignores are skipped."""
        handler = self._handlers.get(type(event).__qualname__)
        if handler is not None:
            handler(self, cur, event, position)

    def apply_batch(self, cur: ViewCursor, events: Sequence[tuple[int, Any]]) -> None:
        """Fold (position, event) pairs in order; a projection may write them in fewer statements,
        as long as the rows come out exactly as `apply` one by one makes them (a rebuild folds one
        by one, and `projections rebuild --verify` compares)."""
        for position, event in events:
            self.apply(cur, event, position)
