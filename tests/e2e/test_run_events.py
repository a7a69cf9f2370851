"""Run events over HTTP: append one or a batch under claim fencing, read pages by seq."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from interfaces.http.runs.models import RunEventBatchOut, RunEventOut, RunEventPage
from tests.support.server import Api, Server, error_kind, unique

EVENT_TYPES = [
    "backend_status",
    "assistant_message",
    "reasoning",
    "tool_call",
    "tool_result",
    "command_output",
    "diff",
    "usage",
    "error",
    "terminal_status",
]


@pytest.fixture
def run_id(admin: Api) -> str:
    return str(admin.create_run()["id"])


def append(
    api: Api, run_id: str, event_type: str = "assistant_message", payload: Any = None, **extra: Any
) -> Any:
    body = {
        "type": event_type,
        "payload": payload if payload is not None else {"text": "x"},
        **extra,
    }
    return api.post(f"/runs/{run_id}/events", body)


def all_events(api: Api, run_id: str) -> list[dict[str, Any]]:
    return list(api.ok(api.get(f"/runs/{run_id}/events", limit=500))["items"])


def claim(api: Api, run_id: str, runner_id: str, lease_ms: int = 60_000) -> dict[str, Any]:
    return dict(api.ok(api.post(f"/runs/{run_id}/claim", {"runnerId": runner_id, "leaseMs": lease_ms})))


# -- append ---------------------------------------------------------------------------


def test_appending_an_event_returns_201_with_the_run_event(runner: Api, run_id: str) -> None:
    response = append(runner, run_id, "assistant_message", {"text": "hello", "parts": [1, {"a": None}]})
    event = runner.ok(response, 201)
    RunEventOut.model_validate(event)
    assert set(event) == {"runId", "seq", "type", "payload", "createdAt", "position"}
    assert event["runId"] == run_id
    assert event["seq"] == 1
    assert event["type"] == "assistant_message"
    assert event["payload"] == {"text": "hello", "parts": [1, {"a": None}]}
    assert isinstance(event["createdAt"], str) and event["createdAt"].endswith("Z")
    assert isinstance(event["position"], int) and event["position"] > 0


def test_events_get_seq_one_two_three_without_gaps(runner: Api, run_id: str) -> None:
    seqs = [runner.ok(append(runner, run_id, payload={"i": i}), 201)["seq"] for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    listed = all_events(runner, run_id)
    assert [e["seq"] for e in listed] == [1, 2, 3, 4, 5]
    assert [e["payload"]["i"] for e in listed] == [0, 1, 2, 3, 4]


def test_listed_events_are_the_events_appended(runner: Api, run_id: str) -> None:
    written = [
        runner.ok(append(runner, run_id, t, {"t": t}), 201) for t in ("reasoning", "tool_call", "diff")
    ]
    assert all_events(runner, run_id) == written


def test_seqs_are_per_run(admin: Api, runner: Api) -> None:
    a, b = admin.create_run()["id"], admin.create_run()["id"]
    assert runner.ok(append(runner, a), 201)["seq"] == 1
    assert runner.ok(append(runner, b), 201)["seq"] == 1
    assert runner.ok(append(runner, a), 201)["seq"] == 2


def test_every_allowed_event_type_is_accepted(runner: Api, run_id: str) -> None:
    for event_type in EVENT_TYPES:
        event = runner.ok(append(runner, run_id, event_type, {"k": event_type}), 201)
        assert event["type"] == event_type
    assert [e["type"] for e in all_events(runner, run_id)] == EVENT_TYPES


def test_an_unknown_event_type_is_schema_invalid(runner: Api, run_id: str) -> None:
    for event_type in ("message", "ASSISTANT_MESSAGE", "terminal-status", "x" * 65, ""):
        response = append(runner, run_id, event_type)
        assert response.status_code == 422, event_type
        assert error_kind(response) == "schema-invalid", event_type
    assert all_events(runner, run_id) == []


INVALID_EVENTS: dict[str, dict[str, Any]] = {
    "missing-payload": {"type": "diff"},
    "missing-type": {"payload": {}},
    "payload-string": {"type": "diff", "payload": "text"},
    "payload-list": {"type": "diff", "payload": [1, 2]},
    "type-int": {"type": 3, "payload": {}},
    "claimEpoch-string": {"type": "diff", "payload": {}, "claimEpoch": "1"},
    "unknown-field": {"type": "diff", "payload": {}, "seq": 9},
}


def test_appending_an_invalid_event_is_schema_invalid(runner: Api, run_id: str) -> None:
    for case, body in INVALID_EVENTS.items():
        response = runner.post(f"/runs/{run_id}/events", body)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case
    assert all_events(runner, run_id) == []


def test_appending_to_an_unknown_run_is_not_found(runner: Api) -> None:
    response = append(runner, unique("run_missing"))
    assert response.status_code == 404
    assert error_kind(response) == "not-found"
    batch = runner.post(
        f"/runs/{unique('run_missing')}/events:batch", {"events": [{"type": "diff", "payload": {}}]}
    )
    assert batch.status_code == 404
    assert error_kind(batch) == "not-found"


def test_events_are_redacted_at_any_depth(runner: Api, run_id: str) -> None:
    payload = {
        "apiKey": "sk-1",
        "auth_token": "t",
        "Password": "p",
        "inputTokens": 12,
        "tokenCount": 3,
        "secretName": "name-of-secret",
        "nested": {"deeper": [{"client-secret": "s", "Authorization": "Bearer x", "kept": "v"}]},
    }
    event = runner.ok(append(runner, run_id, "tool_call", payload), 201)
    expected = {
        "apiKey": "[redacted]",
        "auth_token": "[redacted]",
        "Password": "[redacted]",
        "inputTokens": 12,
        "tokenCount": 3,
        "secretName": "name-of-secret",
        "nested": {"deeper": [{"client-secret": "[redacted]", "Authorization": "[redacted]", "kept": "v"}]},
    }
    assert event["payload"] == expected
    assert all_events(runner, run_id)[0]["payload"] == expected


# -- fencing --------------------------------------------------------------------------


def test_an_older_claim_epoch_without_a_runner_id_is_refused(runner: Api, run_id: str) -> None:
    claim(runner, run_id, "runner-a")
    claim(runner, run_id, "runner-a")
    response = append(runner, run_id, claimEpoch=1)
    assert response.status_code == 409
    assert error_kind(response) == "stale-attempt"
    assert runner.ok(append(runner, run_id, claimEpoch=2), 201)["seq"] == 1


def test_a_negative_claim_epoch_is_schema_invalid(runner: Api, run_id: str) -> None:
    response = append(runner, run_id, claimEpoch=-1)
    assert response.status_code == 422
    assert error_kind(response) == "schema-invalid"


# -- batches --------------------------------------------------------------------------


def test_a_batch_appends_events_with_contiguous_seqs(runner: Api, run_id: str) -> None:
    runner.ok(append(runner, run_id), 201)
    events = [{"type": EVENT_TYPES[i % len(EVENT_TYPES)], "payload": {"i": i}} for i in range(5)]
    body = runner.ok(runner.post(f"/runs/{run_id}/events:batch", {"events": events}), 201)
    RunEventBatchOut.model_validate(body)
    assert body["count"] == 5
    assert [e["seq"] for e in body["items"]] == [2, 3, 4, 5, 6]
    assert [e["payload"]["i"] for e in body["items"]] == [0, 1, 2, 3, 4]
    positions = [e["position"] for e in body["items"]]
    assert positions == sorted(positions) and len(set(positions)) == 5
    assert body["position"] == positions[-1]
    assert [e["seq"] for e in all_events(runner, run_id)] == [1, 2, 3, 4, 5, 6]


def test_a_batch_of_500_events_is_appended_at_once(runner: Api, run_id: str) -> None:
    events = [{"type": "command_output", "payload": {"line": i}} for i in range(500)]
    body = runner.ok(runner.post(f"/runs/{run_id}/events:batch", {"events": events}), 201)
    assert body["count"] == 500
    assert [e["seq"] for e in body["items"]] == list(range(1, 501))
    page = runner.ok(runner.get(f"/runs/{run_id}/events", limit=500))
    assert page["count"] == 500
    assert [e["payload"]["line"] for e in page["items"]] == list(range(500))
    assert page["nextCursor"] is None


def test_a_batch_of_501_events_is_schema_invalid_and_appends_nothing(runner: Api, run_id: str) -> None:
    events = [{"type": "usage", "payload": {}}] * 501
    response = runner.post(f"/runs/{run_id}/events:batch", {"events": events})
    assert response.status_code == 422
    assert error_kind(response) == "schema-invalid"
    assert all_events(runner, run_id) == []


def test_a_batch_with_one_bad_type_appends_nothing(runner: Api, run_id: str) -> None:
    events = [
        {"type": "usage", "payload": {}},
        {"type": "nope", "payload": {}},
        {"type": "diff", "payload": {}},
    ]
    response = runner.post(f"/runs/{run_id}/events:batch", {"events": events})
    assert response.status_code == 422
    assert error_kind(response) == "schema-invalid"
    assert all_events(runner, run_id) == []


def test_a_batch_with_one_stale_event_appends_nothing(runner: Api, run_id: str) -> None:
    claim(runner, run_id, "runner-a")
    claim(runner, run_id, "runner-a")
    events = [
        {"type": "usage", "payload": {}, "claimEpoch": 2},
        {"type": "diff", "payload": {}, "claimEpoch": 1},
    ]
    response = runner.post(f"/runs/{run_id}/events:batch", {"events": events})
    assert response.status_code == 409
    assert error_kind(response) == "stale-attempt"
    assert all_events(runner, run_id) == []


def test_an_invalid_batch_is_schema_invalid(runner: Api, run_id: str) -> None:
    for case, body in {
        "missing-events": {},
        "events-string": {"events": "x"},
        "event-missing-payload": {"events": [{"type": "diff"}]},
        "unknown-field": {"events": [{"type": "diff", "payload": {}}], "x": 1},
    }.items():
        response = runner.post(f"/runs/{run_id}/events:batch", body)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case


def test_batches_redact_secrets(runner: Api, run_id: str) -> None:
    events = [{"type": "tool_call", "payload": {"args": {"db_password": "p", "name": "n"}}}]
    body = runner.ok(runner.post(f"/runs/{run_id}/events:batch", {"events": events}), 201)
    assert body["items"][0]["payload"] == {"args": {"db_password": "[redacted]", "name": "n"}}
    assert all_events(runner, run_id)[0]["payload"] == {"args": {"db_password": "[redacted]", "name": "n"}}


# -- reading pages --------------------------------------------------------------------


def fill(runner: Api, run_id: str, n: int) -> None:
    events = [{"type": "command_output", "payload": {"i": i}} for i in range(n)]
    runner.ok(runner.post(f"/runs/{run_id}/events:batch", {"events": events}), 201)


def test_events_after_a_seq_are_listed_in_seq_order(runner: Api, run_id: str) -> None:
    fill(runner, run_id, 7)
    page = runner.ok(runner.get(f"/runs/{run_id}/events", afterSeq=2, limit=3))
    RunEventPage.model_validate(page)
    assert set(page) == {"items", "count", "nextCursor"}
    assert [e["seq"] for e in page["items"]] == [3, 4, 5]
    assert page["count"] == 3
    assert isinstance(page["nextCursor"], str)
    last = runner.ok(runner.get(f"/runs/{run_id}/events", afterSeq=5, limit=10))
    assert [e["seq"] for e in last["items"]] == [6, 7]
    assert last["nextCursor"] is None


def test_following_next_cursor_yields_every_event_exactly_once(runner: Api, run_id: str) -> None:
    fill(runner, run_id, 11)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = runner.ok(runner.get(f"/runs/{run_id}/events", limit=3, cursor=cursor))
        assert page["count"] == len(page["items"]) <= 3
        seen.extend(e["seq"] for e in page["items"])
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
        assert pages < 20
    assert seen == list(range(1, 12))
    assert pages == 4


def test_a_page_ending_exactly_at_the_last_event_has_no_next_cursor(runner: Api, run_id: str) -> None:
    fill(runner, run_id, 4)
    first = runner.ok(runner.get(f"/runs/{run_id}/events", limit=2))
    second = runner.ok(runner.get(f"/runs/{run_id}/events", limit=2, cursor=first["nextCursor"]))
    assert [e["seq"] for e in second["items"]] == [3, 4]
    if second["nextCursor"] is not None:
        third = runner.ok(runner.get(f"/runs/{run_id}/events", limit=2, cursor=second["nextCursor"]))
        assert third["items"] == [] and third["nextCursor"] is None


def test_the_default_page_holds_50_events(runner: Api, run_id: str) -> None:
    fill(runner, run_id, 60)
    page = runner.ok(runner.get(f"/runs/{run_id}/events"))
    assert [e["seq"] for e in page["items"]] == list(range(1, 51))
    rest = runner.ok(runner.get(f"/runs/{run_id}/events", cursor=page["nextCursor"]))
    assert [e["seq"] for e in rest["items"]] == list(range(51, 61))
    assert rest["nextCursor"] is None


def test_a_run_without_events_has_an_empty_page(runner: Api, run_id: str) -> None:
    page = runner.ok(runner.get(f"/runs/{run_id}/events"))
    assert page == {"items": [], "count": 0, "nextCursor": None}


def test_reading_after_the_last_seq_gives_an_empty_page(runner: Api, run_id: str) -> None:
    fill(runner, run_id, 2)
    page = runner.ok(runner.get(f"/runs/{run_id}/events", afterSeq=2))
    assert page == {"items": [], "count": 0, "nextCursor": None}


def test_listing_events_with_bad_parameters_is_schema_invalid(runner: Api, run_id: str) -> None:
    for case, params in {
        "limit-zero": {"limit": 0},
        "limit-over-500": {"limit": 501},
        "limit-word": {"limit": "many"},
        "afterSeq-negative": {"afterSeq": -1},
        "afterSeq-word": {"afterSeq": "x"},
        "foreign-cursor": {"cursor": "not-ours"},
    }.items():
        response = runner.get(f"/runs/{run_id}/events", **params)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case


def test_listing_events_of_an_unknown_run_is_not_found(runner: Api) -> None:
    response = runner.get(f"/runs/{unique('run_missing')}/events")
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_the_terminal_status_event_continues_the_seq(admin: Api, runner: Api, run_id: str) -> None:
    runner.ok(append(runner, run_id), 201)
    runner.ok(runner.post(f"/runs/{run_id}/finish", {"terminalStatus": "completed"}))
    events = all_events(admin, run_id)
    assert [e["seq"] for e in events] == [1, 2]
    assert events[1]["type"] == "terminal_status"


def test_concurrent_appends_get_contiguous_seqs(server: Server, run_id: str) -> None:
    clients = [server.client("runner") for _ in range(5)]

    def write(n: int) -> list[int]:
        return [
            clients[n].ok(append(clients[n], run_id, payload={"w": n, "i": i}), 201)["seq"] for i in range(4)
        ]

    with ThreadPoolExecutor(max_workers=5) as pool:
        seqs = [s for batch in pool.map(write, range(5)) for s in batch]
    assert sorted(seqs) == list(range(1, 21))
    listed = all_events(clients[0], run_id)
    assert [e["seq"] for e in listed] == list(range(1, 21))
    assert sorted((e["payload"]["w"], e["payload"]["i"]) for e in listed) == [
        (w, i) for w in range(5) for i in range(4)
    ]
    positions = [e["position"] for e in listed]
    assert positions == sorted(positions)
