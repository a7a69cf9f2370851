"""The Command aggregate: its type, and its lifecycle pending → acknowledged → terminal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time

from domain.command import Command
from domain.errors import SchemaInvalidError
from domain.hashing import payload_hash
from domain.outcome import Outcome

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_command(command_type: str = "turn", **overrides: Any) -> Command:
    payload = overrides.pop("payload", {"prompt": "hello"})
    fields: dict[str, Any] = {
        "command_id": "cmd_1",
        "run_id": "run_1",
        "tenant_id": "acme",
        "session_id": "s-1",
        "seq": 1,
        "command_type": command_type,
        "payload": payload,
        "idempotency_key": "key-1",
        "payload_hash": payload_hash(payload),
        "now": T0,
        **overrides,
    }
    return Command.create(**fields)


def test_a_new_command_is_pending_with_what_it_was_created_with() -> None:
    command = new_command()

    assert command.id == "cmd_1"
    assert command.run_id == "run_1"
    assert command.tenant_id == "acme"
    assert command.session_id == "s-1"
    assert command.seq == 1
    assert command.type == "turn"
    assert command.payload == {"prompt": "hello"}
    assert command.idempotency_key == "key-1"
    assert command.payload_hash == payload_hash({"prompt": "hello"})
    assert command.state == "pending"
    assert command.acknowledged_at is None
    assert command.version == 1
    assert command.created_at == T0


@pytest.mark.parametrize("command_type", ["turn", "steer", "interrupt"])
def test_every_contract_command_type_is_accepted(command_type: str) -> None:
    assert new_command(command_type).type == command_type


def test_an_unknown_command_type_is_schema_invalid() -> None:
    with pytest.raises(SchemaInvalidError) as raised:
        new_command("reboot")

    assert raised.value.details["allowed"] == ["turn", "steer", "interrupt"]


def test_only_a_turn_is_a_turn() -> None:
    assert new_command("turn").is_turn
    assert not new_command("steer").is_turn


def test_acknowledging_a_pending_command_records_when() -> None:
    command = new_command()

    with freeze_time(T0 + timedelta(seconds=3)):
        assert command.acknowledge(datetime.now(UTC)) is True

    assert command.state == "acknowledged"
    assert command.acknowledged_at == T0 + timedelta(seconds=3)
    assert command.updated_at == T0 + timedelta(seconds=3)


def test_acknowledging_twice_records_one_acknowledgement() -> None:
    command = new_command()
    command.acknowledge(T0)

    assert command.acknowledge(T0 + timedelta(seconds=1)) is False

    assert command.version == 2
    assert command.acknowledged_at == T0


@pytest.mark.parametrize(
    ("terminal_status", "state"),
    [
        ("completed", "completed"),
        ("failed", "failed"),
        ("blocked", "failed"),
        ("cancelled", "cancelled"),
    ],
)
def test_finishing_maps_the_terminal_status_to_a_state(terminal_status: str, state: str) -> None:
    command = new_command()
    command.acknowledge(T0)

    assert command.finish(Outcome(terminal_status, "kind", "message", "t-1", "turn-1"), T0) is True

    assert command.state == state
    assert command.terminal_status == terminal_status
    assert command.failure_kind == "kind"
    assert command.failure_message == "message"
    assert command.is_terminal


def test_a_finished_event_carries_the_thread_and_turn() -> None:
    command = new_command()
    list(command.collect_events())

    command.finish(Outcome("completed", None, None, "t-1", "turn-1"), T0)

    (finished,) = command.collect_events()
    assert isinstance(finished, Command.Finished)
    assert (finished.thread_id, finished.turn_id) == ("t-1", "turn-1")


def test_a_pending_command_may_finish_without_an_acknowledgement() -> None:
    command = new_command()

    assert command.finish(Outcome("completed"), T0) is True
    assert command.acknowledged_at is None


def test_an_unknown_terminal_status_is_schema_invalid() -> None:
    command = new_command()

    with pytest.raises(SchemaInvalidError):
        command.finish(Outcome("exploded"), T0)

    assert command.state == "pending"


def test_cancelling_records_the_reason() -> None:
    command = new_command()

    assert command.cancel("run cancelled", T0) is True

    assert command.state == command.terminal_status == command.failure_kind == "cancelled"
    assert command.failure_message == "run cancelled"


def test_an_acknowledged_command_may_be_cancelled() -> None:
    command = new_command()
    command.acknowledge(T0)

    assert command.cancel("changed my mind", T0 + timedelta(seconds=1)) is True

    assert command.state == "cancelled" and command.is_terminal
    assert command.acknowledged_at == T0


@pytest.mark.parametrize("end", ["completed", "cancelled"])
def test_every_transition_on_a_terminal_command_changes_nothing(end: str) -> None:
    command = new_command()
    if end == "completed":
        command.finish(Outcome("completed"), T0)
    else:
        command.cancel("stop", T0)
    version = command.version

    assert command.finish(Outcome("failed", "late", None, None, None), T0) is False
    assert command.cancel("late", T0) is False
    assert command.acknowledge(T0) is False

    assert command.version == version
    assert command.state == end
