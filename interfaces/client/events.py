"""Routes of the global event log, its live tail, audit views and projection status."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from interfaces.client.core import HttpCore, StreamEvent
from interfaces.client.errors import ClientError
from interfaces.client.types_work import AuditView, LogEvent, LogPage, ProjectionStatus


def filters(
    types: Sequence[str] | None, aggregate_id: str | None, run_id: str | None, session_id: str | None
) -> dict[str, Any]:
    return {
        "types": ",".join(types) if types else None,
        "aggregateId": aggregate_id,
        "runId": run_id,
        "sessionId": session_id,
    }


class Events:
    """`/events`, `/events/stream`, `/audit/{id}` and `/projections`."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def list(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        types: Sequence[str] | None = None,
        aggregate_id: str | None = None,
        run_id: str | None = None,
        session_id: str | None = None,
    ) -> LogPage:
        params = {"after": after, "limit": limit, **filters(types, aggregate_id, run_id, session_id)}
        result: LogPage = self.core.request("GET", "/events", params=params)
        return result

    def iter(self, *, after: int = 0, types: Sequence[str] | None = None, **where: str) -> Iterator[LogEvent]:
        """Every stored event after `after` (that matches), page by page, until the head."""
        while True:
            page = self.list(after=after, limit=500, types=types, **where)
            yield from page["items"]
            if not page["items"] or page["nextAfter"] is None:
                return
            after = page["nextAfter"]

    def stream(
        self,
        *,
        after: int | None = None,
        last_event_id: str | None = None,
        types: Sequence[str] | None = None,
        aggregate_id: str | None = None,
        run_id: str | None = None,
        session_id: str | None = None,
    ) -> Iterator[StreamEvent]:
        """One connection to the live tail: each event has `id` = its position and `data` = the event."""
        params = {"after": after, **filters(types, aggregate_id, run_id, session_id)}
        return self.core.stream("/events/stream", params=params, last_event_id=last_event_id)

    def follow(
        self,
        *,
        after: int = 0,
        types: Sequence[str] | None = None,
        aggregate_id: str | None = None,
        run_id: str | None = None,
        session_id: str | None = None,
        retry_delay: float = 1.0,
        should_stop: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[StreamEvent]:
        """The live tail across disconnects: reconnects with `Last-Event-ID`; nothing repeats or is lost."""
        last = str(after)
        while not should_stop():
            try:
                for event in self.stream(
                    last_event_id=last,
                    types=types,
                    aggregate_id=aggregate_id,
                    run_id=run_id,
                    session_id=session_id,
                ):
                    if event.id is not None:
                        last = event.id
                    yield event
                    if should_stop():
                        return
            except ClientError as error:
                if not error.retryable:
                    raise
            sleep(retry_delay)

    def audit(self, aggregate_id: str, *, version: int | None = None, at: str | None = None) -> AuditView:
        """The aggregate as it was at `version` or time `at` (ISO 8601), rebuilt from its events."""
        params = {"version": version, "at": at}
        result: AuditView = self.core.request("GET", f"/audit/{aggregate_id}", params=params)
        return result

    def projections(self) -> builtins.list[ProjectionStatus]:
        result: builtins.list[ProjectionStatus] = self.core.request("GET", "/projections")
        return result
