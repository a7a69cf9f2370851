"""Event schema evolution (ADR 0021): a stored v1 event loads through its upcaster as v2."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent

from application.audit import replay
from domain.base import Aggregate
from infrastructure.event_log import AgentRunLog

FIXTURE = Path(__file__).parent.parent / "fixtures" / "ticket_assigned_v1.jsonl"


class Ticket(Aggregate):
    """A stand-in aggregate whose `Assigned` event gained fields after v1 was stored."""

    class Opened(Aggregate.Created):
        tenant_id: str

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.assignees: list[str] = []
        self.reason = ""

    class Assigned(Aggregate.Event):
        """v1 had `assignee: str`; v2 has `assignees: list[str]` and a `reason`."""

        class_version = 2
        assignees: list[str]
        reason: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["assignees"] = [state.pop("assignee")]
            state["reason"] = "unknown (recorded before v2)"

        def apply(self, aggregate: Any) -> None:
            aggregate.assignees = list(self.assignees)
            aggregate.reason = self.reason

    def assign(self, assignees: list[str], reason: str, now: datetime) -> None:
        self._trigger(self.Assigned, now, assignees=assignees, reason=reason)


def mapper() -> Any:
    return AgentRunLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


def stored(line: bytes) -> StoredEvent:
    record = orjson.loads(line)
    return StoredEvent(
        originator_id=record["originatorId"],
        originator_version=record["originatorVersion"],
        topic=record["topic"],
        state=orjson.dumps(record["state"]),
    )


def test_a_stored_v1_event_loads_as_v2_through_its_upcaster() -> None:
    opened, assigned = (mapper().to_domain_event(stored(line)) for line in FIXTURE.read_bytes().splitlines())
    assert isinstance(assigned, Ticket.Assigned)
    assert assigned.assignees == ["ada"]
    assert assigned.reason == "unknown (recorded before v2)"
    ticket = replay([opened, assigned])
    assert ticket.assignees == ["ada"] and ticket.version == 2 and ticket.tenant_id == "tenant-a"


def test_new_events_are_stored_with_their_class_version_and_load_unchanged() -> None:
    now = datetime.now().astimezone()
    ticket = Ticket._create(Ticket.Opened, id="ticket-2", timestamp=now, tenant_id="t")
    ticket.assign(["bob", "eve"], "rotation", datetime.now().astimezone())
    m = mapper()
    record = m.to_stored_event(ticket.collect_events()[-1])
    assert orjson.loads(record.state)["class_version"] == 2
    loaded = m.to_domain_event(record)
    assert loaded.assignees == ["bob", "eve"] and loaded.reason == "rotation"
