"""Commands over HTTP: create (idempotently), read, list, acknowledge, finish, cancel."""

from __future__ import annotations

from typing import Any

import pytest

from interfaces.http.commands.models import CommandOut, CommandPage
from tests.support.server import Api, error_kind, unique

COMMAND_FIELDS = {
    "id",
    "runId",
    "seq",
    "type",
    "payload",
    "state",
    "idempotencyKey",
    "payloadHash",
    "createdAt",
    "updatedAt",
    "acknowledgedAt",
    "position",
}


@pytest.fixture
def run_id(client: Api) -> str:
    return str(client.create_run()["id"])


def create(api: Api, run_id: str, command_type: str = "turn", payload: Any = None, **extra: Any) -> Any:
    body = {
        "type": command_type,
        "payload": payload if payload is not None else {"prompt": "hi"},
        **extra,
    }
    return api.post(f"/runs/{run_id}/commands", body)


def new_command(api: Api, run_id: str, command_type: str = "turn", payload: Any = None) -> dict[str, Any]:
    return dict(api.ok(create(api, run_id, command_type, payload), 201))


def without_position(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "position"}


# -- create ---------------------------------------------------------------------------


def test_creating_a_command_returns_201_with_every_field(client: Api, run_id: str) -> None:
    command = client.ok(create(client, run_id, "turn", {"prompt": "write tests"}), 201)
    CommandOut.model_validate(command)
    assert set(command) == COMMAND_FIELDS
    assert isinstance(command["id"], str) and command["id"]
    assert command["runId"] == run_id
    assert command["seq"] == 1
    assert command["type"] == "turn"
    assert command["payload"] == {"prompt": "write tests"}
    assert command["state"] == "pending"
    assert command["idempotencyKey"] is None
    assert isinstance(command["payloadHash"], str) and command["payloadHash"]
    assert command["createdAt"].endswith("Z") and command["updatedAt"].endswith("Z")
    assert command["acknowledgedAt"] is None
    assert isinstance(command["position"], int) and command["position"] > 0


def test_commands_get_seq_one_two_three_per_run(client: Api, run_id: str) -> None:
    seqs = [new_command(client, run_id, t)["seq"] for t in ("turn", "steer", "interrupt")]
    assert seqs == [1, 2, 3]
    other = client.create_run()["id"]
    assert new_command(client, other)["seq"] == 1


def test_getting_a_command_returns_it_as_created(client: Api, run_id: str) -> None:
    command = new_command(client, run_id, "steer", {"text": "left"})
    got = client.ok(client.get(f"/commands/{command['id']}"))
    CommandOut.model_validate(got)
    assert without_position(got) == without_position(command)
    assert isinstance(got["position"], int)


def test_an_unknown_command_is_not_found(client: Api) -> None:
    response = client.get(f"/commands/{unique('cmd_missing')}")
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_a_run_id_is_not_a_command(client: Api, run_id: str) -> None:
    response = client.get(f"/commands/{run_id}")
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_creating_a_command_on_an_unknown_run_is_not_found(client: Api) -> None:
    response = create(client, unique("run_missing"))
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


INVALID_COMMANDS: dict[str, dict[str, Any]] = {
    "unknown-type": {"type": "prompt", "payload": {}},
    "uppercase-type": {"type": "TURN", "payload": {}},
    "missing-type": {"payload": {}},
    "missing-payload": {"type": "turn"},
    "payload-string": {"type": "turn", "payload": "hi"},
    "key-int": {"type": "turn", "payload": {}, "idempotencyKey": 5},
    "key-empty": {"type": "turn", "payload": {}, "idempotencyKey": ""},
    "unknown-field": {"type": "turn", "payload": {}, "priority": 1},
}


def test_creating_an_invalid_command_is_schema_invalid(client: Api, run_id: str) -> None:
    for case, body in INVALID_COMMANDS.items():
        response = client.post(f"/runs/{run_id}/commands", body)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case
    assert client.ok(client.get(f"/runs/{run_id}/commands"))["count"] == 0


def test_creating_a_command_from_bad_json_is_schema_invalid(client: Api, run_id: str) -> None:
    response = client.http.post(
        f"/runs/{run_id}/commands",
        content=b'{"type": "turn"',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert error_kind(response) == "schema-invalid"


def test_creating_a_command_on_a_terminal_run_conflicts(client: Api, runner: Api, run_id: str) -> None:
    # A cancelled run too: unit/test_run::test_a_command_cannot_be_added_to_a_terminal_run.
    runner.ok(runner.post(f"/runs/{run_id}/finish", {"terminalStatus": "completed"}))
    response = create(client, run_id)
    assert response.status_code == 409
    assert error_kind(response) == "conflict"
    assert client.ok(client.get(f"/runs/{run_id}/commands"))["count"] == 0


def test_command_payloads_are_redacted_at_any_depth(client: Api, run_id: str) -> None:
    payload = {
        "prompt": "p",
        "apiKey": "k",
        "env": [{"AUTH_TOKEN": "t", "name": "n"}, {"inner": {"Password": "x", "privateKey": "y"}}],
        "inputTokens": 5,
        "tokenCount": 6,
        "secretName": "s",
    }
    command = new_command(client, run_id, "turn", payload)
    expected = {
        "prompt": "p",
        "apiKey": "[redacted]",
        "env": [
            {"AUTH_TOKEN": "[redacted]", "name": "n"},
            {"inner": {"Password": "[redacted]", "privateKey": "[redacted]"}},
        ],
        "inputTokens": 5,
        "tokenCount": 6,
        "secretName": "s",
    }
    assert command["payload"] == expected
    assert client.ok(client.get(f"/commands/{command['id']}"))["payload"] == expected


# -- idempotency ----------------------------------------------------------------------


def test_repeating_a_create_with_the_same_key_and_payload_returns_the_original(
    client: Api, run_id: str
) -> None:
    key = unique("key")
    first = client.ok(create(client, run_id, "turn", {"prompt": "once", "n": 1}, idempotencyKey=key), 201)
    assert first["idempotencyKey"] == key
    replay = create(client, run_id, "turn", {"n": 1, "prompt": "once"}, idempotencyKey=key)
    assert replay.status_code == 200
    again = replay.json()
    assert without_position(again) == without_position(first)
    page = client.ok(client.get(f"/runs/{run_id}/commands"))
    assert [c["id"] for c in page["items"]] == [first["id"]]
    assert new_command(client, run_id)["seq"] == 2


def test_reusing_a_key_with_another_payload_conflicts(client: Api, run_id: str) -> None:
    key = unique("key")
    client.ok(create(client, run_id, "turn", {"prompt": "a"}, idempotencyKey=key), 201)
    response = create(client, run_id, "turn", {"prompt": "b"}, idempotencyKey=key)
    assert response.status_code == 409
    assert error_kind(response) == "conflict"
    assert client.ok(client.get(f"/runs/{run_id}/commands"))["count"] == 1


def test_idempotency_keys_are_scoped_to_their_run(client: Api, run_id: str) -> None:
    key = unique("key")
    first = client.ok(create(client, run_id, idempotencyKey=key), 201)
    other_run = client.create_run()["id"]
    second = client.ok(create(client, other_run, idempotencyKey=key), 201)
    assert second["id"] != first["id"]


# -- listing --------------------------------------------------------------------------


def test_commands_after_a_seq_are_listed_in_seq_order(client: Api, run_id: str) -> None:
    ids = [new_command(client, run_id, payload={"i": i})["id"] for i in range(5)]
    page = client.ok(client.get(f"/runs/{run_id}/commands", afterSeq=1, limit=2))
    CommandPage.model_validate(page)
    assert set(page) == {"items", "count", "nextCursor"}
    assert [c["seq"] for c in page["items"]] == [2, 3]
    assert [c["id"] for c in page["items"]] == ids[1:3]
    assert page["count"] == 2
    assert isinstance(page["nextCursor"], str)


def test_following_next_cursor_yields_every_command_exactly_once(client: Api, run_id: str) -> None:
    ids = [new_command(client, run_id, payload={"i": i})["id"] for i in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = client.ok(client.get(f"/runs/{run_id}/commands", limit=2, cursor=cursor))
        seen.extend(c["id"] for c in page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert cursor is None
    assert seen == ids


def test_listing_commands_of_a_run_without_any_gives_an_empty_page(client: Api, run_id: str) -> None:
    assert client.ok(client.get(f"/runs/{run_id}/commands")) == {
        "items": [],
        "count": 0,
        "nextCursor": None,
    }


def test_listing_commands_of_an_unknown_run_is_not_found(client: Api) -> None:
    response = client.get(f"/runs/{unique('run_missing')}/commands")
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_listing_commands_with_bad_parameters_is_schema_invalid(client: Api, run_id: str) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"afterSeq": -1}, {"cursor": "zz"}):
        response = client.get(f"/runs/{run_id}/commands", **params)
        assert response.status_code == 422, params
        assert error_kind(response) == "schema-invalid", params


# -- transitions ----------------------------------------------------------------------


def test_acknowledging_a_pending_command_marks_it_acknowledged(client: Api, runner: Api, run_id: str) -> None:
    command = new_command(client, run_id)
    acked = runner.ok(runner.post(f"/commands/{command['id']}/ack"))
    CommandOut.model_validate(acked)
    assert acked["state"] == "acknowledged"
    assert isinstance(acked["acknowledgedAt"], str) and acked["acknowledgedAt"].endswith("Z")
    assert acked["updatedAt"] >= command["updatedAt"]
    assert acked["position"] > command["position"]
    assert client.ok(client.get(f"/commands/{command['id']}"))["state"] == "acknowledged"


def test_acknowledging_twice_returns_the_command_unchanged(client: Api, runner: Api, run_id: str) -> None:
    command = new_command(client, run_id)
    first = runner.ok(runner.post(f"/commands/{command['id']}/ack"))
    second = runner.post(f"/commands/{command['id']}/ack")
    assert second.status_code == 200
    assert second.json() == first


def test_finishing_an_acknowledged_command_makes_it_terminal(client: Api, runner: Api, run_id: str) -> None:
    # Each terminal status and its state:
    # unit/test_command::test_finishing_maps_the_terminal_status_to_a_state.
    command = new_command(client, run_id)
    acked = runner.ok(runner.post(f"/commands/{command['id']}/ack"))
    body = {
        "terminalStatus": "failed",
        "failureKind": "k",
        "failureMessage": "m",
        "threadId": "t1",
        "turnId": "u1",
    }
    finished = runner.ok(runner.post(f"/commands/{command['id']}/finish", body))
    CommandOut.model_validate(finished)
    assert finished["state"] == "failed"
    assert finished["acknowledgedAt"] == acked["acknowledgedAt"]
    assert finished["position"] > acked["position"]
    assert client.ok(client.get(f"/commands/{command['id']}"))["state"] == "failed"


def test_finishing_a_terminal_command_returns_it_unchanged(client: Api, runner: Api, run_id: str) -> None:
    command = new_command(client, run_id)
    done = runner.ok(runner.post(f"/commands/{command['id']}/finish", {"terminalStatus": "completed"}))
    again = runner.post(
        f"/commands/{command['id']}/finish", {"terminalStatus": "failed", "failureKind": "late"}
    )
    assert again.status_code == 200
    assert again.json() == done


def test_cancelling_a_pending_command_cancels_it(client: Api, operator: Api, run_id: str) -> None:
    command = new_command(client, run_id)
    cancelled = operator.ok(operator.post(f"/commands/{command['id']}/cancel", {"reason": "changed my mind"}))
    CommandOut.model_validate(cancelled)
    assert cancelled["state"] == "cancelled"
    assert cancelled["position"] > command["position"]
    assert client.ok(client.get(f"/commands/{command['id']}"))["state"] == "cancelled"


def test_cancelling_twice_returns_the_command_unchanged(operator: Api, client: Api, run_id: str) -> None:
    command = new_command(client, run_id)
    first = operator.ok(operator.post(f"/commands/{command['id']}/cancel"))
    second = operator.post(f"/commands/{command['id']}/cancel")
    assert second.status_code == 200
    assert second.json() == first


def test_transitions_of_an_unknown_command_are_not_found(admin: Api) -> None:
    for action in ("ack", "finish", "cancel"):
        body = {"terminalStatus": "completed"} if action == "finish" else {}
        response = admin.post(f"/commands/{unique('cmd_missing')}/{action}", body)
        assert response.status_code == 404, action
        assert error_kind(response) == "not-found", action


INVALID_FINISHES: dict[str, dict[str, Any]] = {
    "missing-status": {},
    "non-terminal-status": {"terminalStatus": "acknowledged"},
    "unknown-status": {"terminalStatus": "done"},
    "unknown-field": {"terminalStatus": "completed", "x": 1},
    "failureKind-int": {"terminalStatus": "failed", "failureKind": 3},
}


def test_finishing_a_command_with_an_invalid_body_is_schema_invalid(
    client: Api, runner: Api, run_id: str
) -> None:
    command = new_command(client, run_id)
    for case, body in INVALID_FINISHES.items():
        response = runner.post(f"/commands/{command['id']}/finish", body)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case
    assert client.ok(client.get(f"/commands/{command['id']}"))["state"] == "pending"


def test_cancelling_a_command_with_an_ill_typed_reason_is_schema_invalid(
    client: Api, operator: Api, run_id: str
) -> None:
    command = new_command(client, run_id)
    response = operator.post(f"/commands/{command['id']}/cancel", {"reason": ["no"]})
    assert response.status_code == 422
    assert error_kind(response) == "schema-invalid"


def test_a_listed_command_shows_its_current_state(client: Api, runner: Api, run_id: str) -> None:
    a = new_command(client, run_id)
    b = new_command(client, run_id, "steer")
    runner.ok(runner.post(f"/commands/{a['id']}/ack"))
    runner.ok(runner.post(f"/commands/{b['id']}/finish", {"terminalStatus": "failed"}))
    items = client.ok(client.get(f"/runs/{run_id}/commands"))["items"]
    assert [(c["id"], c["state"]) for c in items] == [
        (a["id"], "acknowledged"),
        (b["id"], "failed"),
    ]


def test_listing_commands_accepts_the_maximum_limit_of_100(client: Api, run_id: str) -> None:
    ids = [new_command(client, run_id, payload={"i": i})["id"] for i in range(3)]
    page = client.ok(client.get(f"/runs/{run_id}/commands", limit=100))
    assert [c["id"] for c in page["items"]] == ids
    assert page["nextCursor"] is None
