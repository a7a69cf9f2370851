"""Run event use cases: append (one or a batch) under claim fencing, and read pages by seq."""

from __future__ import annotations

from typing import Any

from application import access
from application.access import Principal
from application.base import UseCases
from application.records import run_event_record
from application.retry import decide_remembered
from domain.errors import SchemaInvalidError
from domain.redaction import redact
from domain.run import Run

MAX_BATCH = 500


class RunEventUseCases(UseCases):
    def append(
        self,
        principal: Principal,
        run_id: str,
        events: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Append events ({type, payload, runnerId?, claimEpoch?}) atomically; returns RunEvents."""
        principal.require(access.RUN_OPERATE)
        if not events:
            raise SchemaInvalidError("a batch needs at least one event")
        if len(events) > MAX_BATCH:
            raise SchemaInvalidError(f"a batch holds at most {MAX_BATCH} events", count=len(events))
        for event in events:
            Run.check_event_type(event["type"])
        payloads = [redact(event.get("payload") or {}) for event in events]

        def attempt(remembered: bool) -> list[dict[str, Any]]:
            now = self.clock()
            run = self.load(Run, run_id, principal, "run", remembered=remembered)
            for event in events:
                run.check_fence(event.get("runnerId"), event.get("claimEpoch"))
            for event, payload in zip(events, payloads, strict=True):
                run.append_event(event["type"], payload, now)
            appended = [e for e in run.pending_events if isinstance(e, Run.EventAppended)]
            positions = self.store.save(run)
            return [run_event_record(e, p) for e, p in zip(appended, positions, strict=True)]

        # Appends to a run this replica is writing need no read of it (ADR 0037).
        with self.store.writing(run_id):
            return decide_remembered(attempt)

    def page(
        self, principal: Principal, run_id: str, after_seq: int, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """RunEvents with seq above `after_seq`, and the seq to continue after (None at the end)."""
        principal.require(access.READ)
        run, _, fetched = self.read(
            Run, run_id, principal, "run", lambda held: page_versions(held, after_seq, limit)
        )
        return self.page_of(run, after_seq, limit, fetched)

    def page_of(
        self, run: Run, after_seq: int, limit: int, fetched: dict[int, tuple[int, Any]] | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the run's events: from `fetched` (by version) when it holds them all, else read."""
        versions = page_versions(run, after_seq, limit)
        if versions is None:
            return [], None
        gt, lte = versions
        if fetched is not None and all(version in fetched for version in range(gt + 1, lte + 1)):
            events = [fetched[version] for version in range(gt + 1, lte + 1)]
        else:
            events = self.store.aggregate_events(run.id, gt, lte)
        items = [
            run_event_record(event, position)
            for position, event in events
            if isinstance(event, Run.EventAppended)
        ]
        end = min(max(after_seq, 0) + limit, run.last_seq)
        return items, (end if end < run.last_seq else None)


def page_versions(run: Run, after_seq: int, limit: int) -> tuple[int, int] | None:
    """The aggregate versions (gt, lte] of the run events after `after_seq`, at most `limit`."""
    after_seq = max(after_seq, 0)
    if after_seq >= run.last_seq:
        return None
    end = min(after_seq + limit, run.last_seq)
    return (run.version_of(after_seq) if after_seq > 0 else 0), run.version_of(end)
