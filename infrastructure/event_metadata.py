"""Who caused the events saved now: the actor and request id, held in a context variable.

The HTTP layer sets it per request (the request id first, the actor once the caller is known);
anything the server does on its own runs without it and records the actor `system`. Events are
stamped in the saving caller's thread, before any hand-off to the group-commit leader, so a batch
holding many callers' events keeps each caller's metadata. The metadata travels in the stored
state under `META_KEY`, never as a field of the domain event; a decoded event carries it in its
`__dict__` under the same key, with nulls for events stored before metadata existed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

META_KEY = "__meta__"
SYSTEM_ACTOR = "system"
UNKNOWN: dict[str, str | None] = {"actor": None, "requestId": None}


@dataclass(frozen=True)
class EventMetadata:
    """The principal that caused an event and, over HTTP, the id of the request."""

    actor: str | None
    request_id: str | None = None

    def stored(self) -> dict[str, str | None]:
        return {"actor": self.actor, "requestId": self.request_id}


SYSTEM = EventMetadata(SYSTEM_ACTOR)
_current: ContextVar[EventMetadata] = ContextVar("agentrun_event_metadata", default=SYSTEM)


def current() -> EventMetadata:
    return _current.get()


def begin(metadata: EventMetadata) -> Token[EventMetadata]:
    """Make `metadata` current (for this context and the threads it hands work to)."""
    return _current.set(metadata)


def end(token: Token[EventMetadata]) -> None:
    _current.reset(token)


def set_actor(actor: str) -> None:
    """Name the caller once it is authenticated, keeping the request id."""
    _current.set(replace(_current.get(), actor=actor))


@contextmanager
def acting(actor: str | None, request_id: str | None = None) -> Iterator[EventMetadata]:
    """Events saved inside are recorded as caused by `actor` (for jobs, the CLI and tests)."""
    metadata = EventMetadata(actor, request_id)
    token = begin(metadata)
    try:
        yield metadata
    finally:
        end(token)


def stamp(events: Iterable[Any]) -> None:
    """Give each event not yet stamped the current metadata (a decoded event keeps its own)."""
    stored: dict[str, str | None] | None = None
    for event in events:
        state = vars(event)
        if META_KEY not in state:
            if stored is None:
                stored = _current.get().stored()
            # Frozen dataclass: the field-less metadata goes straight into the instance dict.
            state[META_KEY] = stored


def metadata_of(event: Any) -> dict[str, str | None]:
    """`{actor, requestId}` of a decoded or stamped event (nulls when it has none)."""
    meta = vars(event).get(META_KEY)
    return meta if isinstance(meta, dict) else UNKNOWN


class MetadataMapper(Mapper[str]):
    """The library's mapper, with each event's metadata written beside its fields and read back."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        # Stamped already by EventLog.save; an event saved some other way takes this context's.
        stamp((domain_event,))
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        state = vars(event)
        meta = state.get(META_KEY)
        # Stored before metadata existed (or not an object): unknown, never guessed.
        state[META_KEY] = (
            {"actor": meta.get("actor"), "requestId": meta.get("requestId")}
            if isinstance(meta, dict)
            else dict(UNKNOWN)
        )
        return event
