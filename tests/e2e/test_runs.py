"""Runs over HTTP: create, read, claim under a lease, heartbeat, finish, cancel."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx

from interfaces.http.runs.models import RunEventPage, RunOut
from tests.support.server import Api, Server, error_kind, token_of, unique

RUN_FIELDS = {
    "id",
    "tenantId",
    "projectId",
    "backendProfile",
    "sessionRef",
    "resourceBundleRef",
    "status",
    "terminalStatus",
    "failureKind",
    "failureMessage",
    "claimedBy",
    "claimEpoch",
    "leaseExpiresAt",
    "createdAt",
    "updatedAt",
    "position",
}


def instant(value: Any) -> datetime:
    """An ISO 8601 timestamp in UTC with a `Z`, parsed."""
    assert isinstance(value, str) and value.endswith("Z"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    return parsed


def events_of(api: Api, run_id: str) -> list[dict[str, Any]]:
    return list(api.ok(api.get(f"/runs/{run_id}/events", limit=500))["items"])


def claim(api: Api, run_id: str, runner_id: str, lease_ms: int = 60_000) -> Any:
    return api.post(f"/runs/{run_id}/claim", {"runnerId": runner_id, "leaseMs": lease_ms})


# -- create and read ------------------------------------------------------------------


def test_creating_a_run_returns_201_with_every_field_of_a_run(admin: Api) -> None:
    before = datetime.now(UTC)
    response = admin.post("/runs", {"tenantId": "tenant-a", "projectId": "proj", "backendProfile": "codex"})
    run = admin.ok(response, 201)
    assert set(run) == RUN_FIELDS
    RunOut.model_validate(run)
    assert isinstance(run["id"], str) and run["id"]
    assert (run["tenantId"], run["projectId"], run["backendProfile"]) == (
        "tenant-a",
        "proj",
        "codex",
    )
    assert run["status"] == "pending"
    assert run["claimEpoch"] == 0 and isinstance(run["claimEpoch"], int)
    for field in (
        "sessionRef",
        "resourceBundleRef",
        "terminalStatus",
        "failureKind",
        "failureMessage",
        "claimedBy",
        "leaseExpiresAt",
    ):
        assert run[field] is None, field
    created = instant(run["createdAt"])
    assert instant(run["updatedAt"]) >= created
    assert abs((created - before).total_seconds()) < 60
    assert isinstance(run["position"], int) and not isinstance(run["position"], bool)
    assert run["position"] > 0


def test_created_run_keeps_its_session_ref_and_resource_bundle_ref(admin: Api) -> None:
    session_id = unique("sess")
    ref = {
        "sessionId": session_id,
        "conversationId": "conv-1",
        "threadId": "thread-1",
        "metadata": {"title": "hello", "depth": {"n": 1}},
        "expiresAt": "2099-01-01T00:00:00Z",
    }
    bundle = {"repo": "git@example.com:x.git", "files": ["a", "b"]}
    run = admin.ok(
        admin.post(
            "/runs",
            {
                "tenantId": "tenant-a",
                "projectId": "proj",
                "backendProfile": "codex",
                "sessionRef": ref,
                "resourceBundleRef": bundle,
            },
        ),
        201,
    )
    assert run["resourceBundleRef"] == bundle
    got_ref = run["sessionRef"]
    assert got_ref["sessionId"] == session_id
    assert got_ref["conversationId"] == "conv-1"
    assert got_ref["threadId"] == "thread-1"
    assert got_ref["metadata"] == {"title": "hello", "depth": {"n": 1}}
    assert instant(got_ref["expiresAt"]) == datetime(2099, 1, 1, tzinfo=UTC)


def test_getting_a_run_returns_it_as_created(admin: Api) -> None:
    run = admin.create_run(resourceBundleRef={"k": "v"})
    got = admin.ok(admin.get(f"/runs/{run['id']}"))
    RunOut.model_validate(got)
    assert got == run


def test_unknown_run_is_not_found(admin: Api) -> None:
    response = admin.get(f"/runs/{unique('run_missing')}")
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_writes_to_an_unknown_run_are_not_found(admin: Api) -> None:
    for action, body in (
        ("claim", {"runnerId": "r", "leaseMs": 1000}),
        ("heartbeat", {"runnerId": "r", "claimEpoch": 1, "leaseMs": 1000}),
        ("finish", {"terminalStatus": "completed"}),
        ("cancel", {}),
    ):
        response = admin.post(f"/runs/{unique('run_missing')}/{action}", body)
        assert response.status_code == 404, action
        assert error_kind(response) == "not-found", action


VALID_RUN = {"tenantId": "tenant-a", "projectId": "proj", "backendProfile": "codex"}


INVALID_RUNS: dict[str, Any] = {
    "unknown-field": {**VALID_RUN, "colour": "blue"},
    "missing-backendProfile": {"tenantId": "tenant-a", "projectId": "proj"},
    "missing-tenantId": {"projectId": "proj", "backendProfile": "codex"},
    "tenantId-int": {**VALID_RUN, "tenantId": 5},
    "projectId-null": {**VALID_RUN, "projectId": None},
    "tenantId-empty": {**VALID_RUN, "tenantId": ""},
    "sessionRef-string": {**VALID_RUN, "sessionRef": "sess-1"},
    "sessionRef-without-sessionId": {**VALID_RUN, "sessionRef": {"conversationId": "c"}},
    "sessionRef-unknown-field": {**VALID_RUN, "sessionRef": {"sessionId": "s", "extra": 1}},
    "sessionRef-bad-expiresAt": {**VALID_RUN, "sessionRef": {"sessionId": "s", "expiresAt": "not a time"}},
    "resourceBundleRef-list": {**VALID_RUN, "resourceBundleRef": ["a"]},
    "body-is-a-list": [VALID_RUN],
}


def test_creating_a_run_with_an_invalid_body_is_schema_invalid(admin: Api) -> None:
    for case, body in INVALID_RUNS.items():
        response = admin.post("/runs", body)
        assert response.status_code == 422, (case, response.text)
        assert error_kind(response) == "schema-invalid", case


def test_creating_a_run_from_bad_json_is_schema_invalid(admin: Api) -> None:
    for raw in (b"{not json", b'{"tenantId": "tenant-a",', b"\xff\xfe", b"null", b"42"):
        response = admin.http.post("/runs", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, (raw, response.text)
        assert error_kind(response) == "schema-invalid", raw


def test_a_session_id_of_another_tenant_is_denied_by_tenant_policy(admin: Api) -> None:
    # Another project too: unit/test_session::test_reusing_a_session_across_a_tenant_or_project_is_denied.
    session_id = unique("sess")
    admin.create_run(tenant="tenant-a", session_id=session_id)
    response = admin.post(
        "/runs",
        {
            "tenantId": "tenant-b",
            "projectId": "proj",
            "backendProfile": "codex",
            "sessionRef": {"sessionId": session_id},
        },
    )
    assert response.status_code == 403
    assert error_kind(response) == "tenant-policy-denied"


def test_a_session_id_of_another_backend_profile_is_schema_invalid(admin: Api) -> None:
    session_id = unique("sess")
    admin.create_run(session_id=session_id)
    response = admin.post(
        "/runs",
        {
            "tenantId": "tenant-a",
            "projectId": "proj",
            "backendProfile": "claude",
            "sessionRef": {"sessionId": session_id},
        },
    )
    assert response.status_code == 422
    assert error_kind(response) == "schema-invalid"


def test_a_second_run_of_the_same_session_is_created(admin: Api) -> None:
    session_id = unique("sess")
    first = admin.create_run(session_id=session_id)
    second = admin.create_run(session_id=session_id)
    assert second["id"] != first["id"]
    assert second["sessionRef"]["sessionId"] == session_id


# -- claim ----------------------------------------------------------------------------


def test_claiming_a_pending_run_marks_it_claimed_with_epoch_one(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    before = datetime.now(UTC)
    claimed = runner.ok(claim(runner, run["id"], "runner-1", 30_000))
    RunOut.model_validate(claimed)
    assert claimed["status"] == "claimed"
    assert claimed["claimedBy"] == "runner-1"
    assert claimed["claimEpoch"] == 1
    lease = instant(claimed["leaseExpiresAt"])
    assert 20 < (lease - before).total_seconds() < 40
    assert claimed["position"] > run["position"]
    assert admin.ok(admin.get(f"/runs/{run['id']}"))["status"] == "claimed"


def test_second_claim_of_a_run_by_another_runner_conflicts(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    runner.ok(claim(runner, run["id"], "runner-1"))
    response = claim(runner, run["id"], "runner-2")
    assert response.status_code == 409
    assert error_kind(response) == "runner-lease-conflict"
    still = admin.ok(admin.get(f"/runs/{run['id']}"))
    assert (still["claimedBy"], still["claimEpoch"]) == ("runner-1", 1)


def test_an_expired_lease_can_be_taken_over_by_another_runner(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    runner.ok(claim(runner, run["id"], "runner-1", lease_ms=1))
    # Time itself: the 1 ms lease must run out on the server's clock (the one e2e proof of that
    # here; the rule with a fake clock: unit/test_run::test_lease_takeover_follows_the_clock).
    time.sleep(0.05)
    taken = runner.ok(claim(runner, run["id"], "runner-2"))
    assert taken["status"] == "claimed"
    assert taken["claimedBy"] == "runner-2"
    assert taken["claimEpoch"] == 2


def test_claiming_a_terminal_run_conflicts(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    runner.ok(runner.post(f"/runs/{run['id']}/finish", {"terminalStatus": "completed"}))
    response = claim(runner, run["id"], "runner-1")
    assert response.status_code == 409
    assert error_kind(response) == "conflict"


INVALID_CLAIMS: dict[str, dict[str, Any]] = {
    "missing-leaseMs": {"runnerId": "r"},
    "missing-runnerId": {"leaseMs": 1000},
    "leaseMs-string": {"runnerId": "r", "leaseMs": "1000"},
    "leaseMs-zero": {"runnerId": "r", "leaseMs": 0},
    "leaseMs-negative": {"runnerId": "r", "leaseMs": -5},
    "runnerId-empty": {"runnerId": "", "leaseMs": 1000},
    "unknown-field": {"runnerId": "r", "leaseMs": 1000, "epoch": 1},
}


def test_claim_with_an_invalid_body_is_schema_invalid(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    for case, body in INVALID_CLAIMS.items():
        response = runner.post(f"/runs/{run['id']}/claim", body)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case
    assert admin.ok(admin.get(f"/runs/{run['id']}"))["status"] == "pending"


# -- heartbeat ------------------------------------------------------------------------


def test_heartbeat_extends_the_lease(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    claimed = runner.ok(claim(runner, run["id"], "runner-1", lease_ms=1_000))
    beat = runner.ok(
        runner.post(
            f"/runs/{run['id']}/heartbeat",
            {"runnerId": "runner-1", "claimEpoch": 1, "leaseMs": 600_000},
        )
    )
    RunOut.model_validate(beat)
    assert instant(beat["leaseExpiresAt"]) > instant(claimed["leaseExpiresAt"])
    assert (instant(beat["leaseExpiresAt"]) - datetime.now(UTC)).total_seconds() > 500
    assert beat["status"] == "claimed"
    assert (beat["claimedBy"], beat["claimEpoch"]) == ("runner-1", 1)
    assert beat["position"] > claimed["position"]
    assert admin.ok(admin.get(f"/runs/{run['id']}"))["leaseExpiresAt"] == beat["leaseExpiresAt"]


def test_heartbeat_from_a_runner_not_holding_the_run_is_stale(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    runner.ok(claim(runner, run["id"], "runner-1"))
    response = runner.post(
        f"/runs/{run['id']}/heartbeat", {"runnerId": "runner-2", "claimEpoch": 1, "leaseMs": 1000}
    )
    assert response.status_code == 409
    assert error_kind(response) == "stale-attempt"


INVALID_HEARTBEATS: dict[str, dict[str, Any]] = {
    "missing-claimEpoch": {"runnerId": "r", "leaseMs": 1000},
    "claimEpoch-string": {"runnerId": "r", "claimEpoch": "1", "leaseMs": 1000},
    "leaseMs-zero": {"runnerId": "r", "claimEpoch": 1, "leaseMs": 0},
    "claimEpoch-negative": {"runnerId": "r", "claimEpoch": -1, "leaseMs": 1000},
}


def test_heartbeat_with_an_invalid_body_is_schema_invalid(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    for case, body in INVALID_HEARTBEATS.items():
        response = runner.post(f"/runs/{run['id']}/heartbeat", body)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case


# -- finish ---------------------------------------------------------------------------


def test_finishing_a_run_makes_it_terminal_and_appends_a_terminal_status_event(
    admin: Api, runner: Api
) -> None:
    # Each terminal status: unit/test_run::test_finishing_sets_the_terminal_status.
    status = "failed"
    run = admin.create_run()
    claimed = runner.ok(claim(runner, run["id"], "runner-1"))
    runner.ok(
        runner.post(f"/runs/{run['id']}/events", {"type": "assistant_message", "payload": {"text": "hi"}}),
        201,
    )
    body = {
        "terminalStatus": status,
        "failureKind": "boom-kind",
        "failureMessage": "it broke",
        "claimEpoch": 1,
    }
    finished = runner.ok(runner.post(f"/runs/{run['id']}/finish", body))
    RunOut.model_validate(finished)
    assert finished["status"] == status
    assert finished["terminalStatus"] == status
    assert finished["failureKind"] == "boom-kind"
    assert finished["failureMessage"] == "it broke"
    assert finished["position"] > claimed["position"]
    assert admin.ok(admin.get(f"/runs/{run['id']}"))["status"] == status
    events = events_of(admin, run["id"])
    assert [e["seq"] for e in events] == [1, 2]
    assert events[-1]["type"] == "terminal_status"
    assert events[-1]["payload"]["terminalStatus"] == status


def test_finishing_an_unclaimed_run_completes_it(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    finished = runner.ok(runner.post(f"/runs/{run['id']}/finish", {"terminalStatus": "completed"}))
    assert finished["status"] == "completed"
    assert finished["failureKind"] is None


def test_finishing_a_terminal_run_returns_it_unchanged(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    first = runner.ok(runner.post(f"/runs/{run['id']}/finish", {"terminalStatus": "completed"}))
    again = runner.post(f"/runs/{run['id']}/finish", {"terminalStatus": "failed", "failureKind": "x"})
    assert again.status_code == 200
    second = again.json()
    assert second["status"] == "completed"
    assert second["terminalStatus"] == "completed"
    assert second["failureKind"] is None
    assert second["updatedAt"] == first["updatedAt"]
    assert second["position"] == first["position"]
    assert [e["type"] for e in events_of(admin, run["id"])] == ["terminal_status"]


def test_finish_with_a_stale_claim_epoch_is_refused(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    runner.ok(claim(runner, run["id"], "runner-a"))
    runner.ok(claim(runner, run["id"], "runner-a"))  # the holder claims again: epoch 2 fences out 1
    response = runner.post(f"/runs/{run['id']}/finish", {"terminalStatus": "failed", "claimEpoch": 1})
    assert response.status_code == 409
    assert error_kind(response) == "stale-attempt"
    assert admin.ok(admin.get(f"/runs/{run['id']}"))["status"] == "claimed"
    assert events_of(admin, run["id"]) == []
    done = runner.ok(
        runner.post(f"/runs/{run['id']}/finish", {"terminalStatus": "completed", "claimEpoch": 2})
    )
    assert done["status"] == "completed"


INVALID_FINISHES: dict[str, dict[str, Any]] = {
    "missing-status": {},
    "unknown-status": {"terminalStatus": "done"},
    "non-terminal-status": {"terminalStatus": "pending"},
    "claimEpoch-string": {"terminalStatus": "completed", "claimEpoch": "1"},
    "unknown-field": {"terminalStatus": "completed", "why": "x"},
}


def test_finish_with_an_invalid_body_is_schema_invalid(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    for case, body in INVALID_FINISHES.items():
        response = runner.post(f"/runs/{run['id']}/finish", body)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case
    assert admin.ok(admin.get(f"/runs/{run['id']}"))["status"] == "pending"


# -- cancel ---------------------------------------------------------------------------


def test_cancelling_a_run_cancels_its_open_commands(server: Server, admin: Api, runner: Api) -> None:
    client, operator = server.client("client"), server.client("operator")
    run = client.create_run()
    runner.ok(claim(runner, run["id"], "runner-1"))
    pending, acked, done = (
        client.ok(client.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {"n": n}}), 201)
        for n in range(3)
    )
    runner.ok(runner.post(f"/commands/{acked['id']}/ack"))
    runner.ok(runner.post(f"/commands/{done['id']}/finish", {"terminalStatus": "completed"}))

    cancelled = operator.ok(operator.post(f"/runs/{run['id']}/cancel", {"reason": "user pressed stop"}))
    RunOut.model_validate(cancelled)
    assert cancelled["status"] == "cancelled"
    assert cancelled["terminalStatus"] == "cancelled"

    states = {c["id"]: c["state"] for c in admin.ok(admin.get(f"/runs/{run['id']}/commands"))["items"]}
    assert states == {pending["id"]: "cancelled", acked["id"]: "cancelled", done["id"]: "completed"}
    assert admin.ok(admin.get(f"/commands/{pending['id']}"))["state"] == "cancelled"
    events = events_of(admin, run["id"])
    assert events[-1]["type"] == "terminal_status"
    assert events[-1]["payload"]["terminalStatus"] == "cancelled"


def test_cancelling_a_run_without_a_reason_works(admin: Api) -> None:
    run = admin.create_run()
    cancelled = admin.ok(admin.post(f"/runs/{run['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert [e["type"] for e in events_of(admin, run["id"])] == ["terminal_status"]


def test_cancelling_a_terminal_run_returns_it_unchanged(admin: Api, runner: Api) -> None:
    run = admin.create_run()
    finished = runner.ok(runner.post(f"/runs/{run['id']}/finish", {"terminalStatus": "failed"}))
    again = admin.post(f"/runs/{run['id']}/cancel", {"reason": "too late"})
    assert again.status_code == 200
    body = again.json()
    assert body["status"] == "failed"
    assert body["updatedAt"] == finished["updatedAt"]
    assert [e["type"] for e in events_of(admin, run["id"])] == ["terminal_status"]
    twice = admin.ok(admin.post(f"/runs/{run['id']}/cancel"))
    assert twice["updatedAt"] == finished["updatedAt"]


def test_cancel_with_an_ill_typed_reason_is_schema_invalid(admin: Api) -> None:
    run = admin.create_run()
    response = admin.post(f"/runs/{run['id']}/cancel", {"reason": 7})
    assert response.status_code == 422
    assert error_kind(response) == "schema-invalid"


# -- positions ------------------------------------------------------------------------


def test_every_write_response_carries_an_increasing_position(server: Server, admin: Api, runner: Api) -> None:
    client = server.client("client")
    run = client.create_run(session_id=unique("sess"))
    rid = run["id"]
    writes = [run]
    writes.append(runner.ok(claim(runner, rid, "runner-1")))
    writes.append(
        runner.ok(
            runner.post(
                f"/runs/{rid}/heartbeat",
                {"runnerId": "runner-1", "claimEpoch": 1, "leaseMs": 60_000},
            )
        )
    )
    writes.append(runner.ok(runner.post(f"/runs/{rid}/events", {"type": "reasoning", "payload": {}}), 201))
    writes.append(
        runner.ok(
            runner.post(
                f"/runs/{rid}/events:batch",
                {"events": [{"type": "usage", "payload": {"n": 1}}] * 3},
            ),
            201,
        )
    )
    command = client.ok(
        client.post(f"/runs/{rid}/commands", {"type": "turn", "payload": {"prompt": "hi"}}), 201
    )
    writes.append(command)
    writes.append(runner.ok(runner.post(f"/commands/{command['id']}/ack")))
    writes.append(
        runner.ok(
            runner.post(
                f"/runs/{rid}/runner-jobs",
                {
                    "commandId": command["id"],
                    "attemptId": "a1",
                    "runnerId": "runner-1",
                    "namespace": "ns",
                    "jobName": "job",
                    "image": "img:1",
                    "sourceCommit": "abc",
                },
            ),
            201,
        )
    )
    writes.append(
        runner.ok(runner.post(f"/commands/{command['id']}/finish", {"terminalStatus": "completed"}))
    )
    writes.append(runner.ok(runner.post("/runners", {"labels": {"zone": "a"}}), 200))
    writes.append(
        runner.ok(runner.post(f"/runs/{rid}/finish", {"terminalStatus": "completed", "claimEpoch": 1}))
    )
    positions = [w["position"] for w in writes]
    assert all(isinstance(p, int) and not isinstance(p, bool) for p in positions)
    assert positions == sorted(positions) and len(set(positions)) == len(positions), positions


def test_cancel_response_position_is_after_the_commands_it_cancelled(admin: Api) -> None:
    run = admin.create_run()
    command = admin.ok(admin.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {}}), 201)
    cancelled = admin.ok(admin.post(f"/runs/{run['id']}/cancel"))
    assert cancelled["position"] > command["position"]
    page = admin.ok(admin.get(f"/runs/{run['id']}/events"))
    RunEventPage.model_validate(page)
    assert page["items"][-1]["position"] <= cancelled["position"]


def test_sixteen_concurrent_claims_over_http_have_exactly_one_winner(server: Server, admin: Api) -> None:
    run = admin.create_run()
    tls = httpx.create_ssl_context()  # one for all 16 connections: building one takes ~50 ms
    headers = {"Authorization": f"Bearer {token_of('runner')}"}
    clients = [
        httpx.Client(base_url=server.base_url + "/api/v1", headers=headers, timeout=30, verify=tls)
        for _ in range(16)
    ]

    def attempt(n: int) -> Any:
        body = {"runnerId": f"runner-{n}", "leaseMs": 60_000}
        return clients[n].post(f"/runs/{run['id']}/claim", json=body)

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(attempt, range(16)))
    for http in clients:
        http.close()
    winners = [r for r in responses if r.status_code == 200]
    losers = [r for r in responses if r.status_code != 200]
    assert len(winners) == 1, [r.status_code for r in responses]
    assert len(losers) == 15 and all(r.status_code == 409 for r in losers)
    assert {error_kind(r) for r in losers} <= {"runner-lease-conflict"}
    final = admin.ok(admin.get(f"/runs/{run['id']}"))
    assert final["claimEpoch"] == 1
    assert final["claimedBy"] == winners[0].json()["claimedBy"]
