"""Runners and runner jobs over HTTP: registration, re-registration, jobs and their idempotency."""

from __future__ import annotations

from typing import Any

import pytest

from interfaces.http.runs.models import RunnerJobList, RunnerJobOut, RunnerOut
from tests.support.server import Api, error_kind, unique

JOB_FIELDS = {
    "id",
    "runId",
    "commandId",
    "idempotencyKey",
    "payloadHash",
    "attemptId",
    "runnerId",
    "namespace",
    "jobName",
    "image",
    "sourceCommit",
    "serviceAccountName",
    "result",
    "createdAt",
    "updatedAt",
    "position",
}


@pytest.fixture
def run_and_command(client: Api) -> tuple[str, str]:
    run = client.create_run()
    command = client.ok(
        client.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {"prompt": "x"}}),
        201,
    )
    return run["id"], command["id"]


def job_body(command_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "commandId": command_id,
        "attemptId": "attempt-1",
        "runnerId": "runner-1",
        "namespace": "agents",
        "jobName": unique("job"),
        "image": "registry.example.com/agent:1.2.3",
        "sourceCommit": "0123abcd",
        **overrides,
    }


# -- runners --------------------------------------------------------------------------


def test_registering_a_runner_without_an_id_assigns_one(runner: Api) -> None:
    response = runner.post("/runners", {"labels": {"zone": "eu-1", "gpu": True}})
    registered = runner.ok(response, 200)
    RunnerOut.model_validate(registered)
    assert set(registered) == {"id", "labels", "registeredAt", "heartbeatAt", "position"}
    assert isinstance(registered["id"], str) and registered["id"]
    assert registered["labels"] == {"zone": "eu-1", "gpu": True}
    assert registered["registeredAt"].endswith("Z") and registered["heartbeatAt"].endswith("Z")
    assert isinstance(registered["position"], int) and registered["position"] > 0
    other = runner.ok(runner.post("/runners", {}), 200)
    assert other["id"] != registered["id"]
    assert other["labels"] == {}


def test_registering_a_runner_with_an_id_keeps_it(runner: Api) -> None:
    runner_id = unique("runner")
    registered = runner.ok(runner.post("/runners", {"id": runner_id, "labels": {"pool": "a"}}), 200)
    assert registered["id"] == runner_id
    assert registered["labels"] == {"pool": "a"}


def test_registering_the_same_id_again_updates_its_labels(runner: Api) -> None:
    runner_id = unique("runner")
    first = runner.ok(runner.post("/runners", {"id": runner_id, "labels": {"pool": "a"}}), 200)
    response = runner.post("/runners", {"id": runner_id, "labels": {"pool": "b", "size": 2}})
    assert response.status_code == 200
    again = response.json()
    RunnerOut.model_validate(again)
    assert again["id"] == runner_id
    assert again["labels"] == {"pool": "b", "size": 2}
    assert again["registeredAt"] == first["registeredAt"]
    assert again["heartbeatAt"] >= first["heartbeatAt"]
    assert again["position"] > first["position"]


def test_runner_labels_are_redacted(runner: Api) -> None:
    labels = {
        "apiKey": "k",
        "nested": {"deep": {"registry_password": "p"}},
        "tokenCount": 1,
        "secretName": "s",
    }
    registered = runner.ok(runner.post("/runners", {"labels": labels}), 200)
    assert registered["labels"] == {
        "apiKey": "[redacted]",
        "nested": {"deep": {"registry_password": "[redacted]"}},
        "tokenCount": 1,
        "secretName": "s",
    }


def test_registering_a_runner_with_an_invalid_body_is_schema_invalid(runner: Api) -> None:
    for body in ({"id": ""}, {"id": 7}, {"labels": ["a"]}, {"labels": "a"}, {"name": "r"}):
        response = runner.post("/runners", body)
        assert response.status_code == 422, body
        assert error_kind(response) == "schema-invalid", body


# -- runner jobs ----------------------------------------------------------------------


def test_recording_a_runner_job_returns_201_with_every_field(
    runner: Api, run_and_command: tuple[str, str]
) -> None:
    run_id, command_id = run_and_command
    body = job_body(command_id, serviceAccountName="agent-sa", result={"exitCode": 0})
    job = runner.ok(runner.post(f"/runs/{run_id}/runner-jobs", body), 201)
    RunnerJobOut.model_validate(job)
    assert set(job) == JOB_FIELDS
    assert isinstance(job["id"], str) and job["id"]
    assert job["runId"] == run_id
    assert job["commandId"] == command_id
    assert job["idempotencyKey"] is None
    assert isinstance(job["payloadHash"], str) and job["payloadHash"]
    for field in (
        "attemptId",
        "runnerId",
        "namespace",
        "jobName",
        "image",
        "sourceCommit",
        "serviceAccountName",
    ):
        assert job[field] == body[field], field
    assert job["result"] == {"exitCode": 0}
    assert job["createdAt"].endswith("Z") and job["updatedAt"].endswith("Z")
    assert isinstance(job["position"], int) and job["position"] > 0


def test_a_runner_job_without_optional_fields_has_defaults(
    runner: Api, run_and_command: tuple[str, str]
) -> None:
    run_id, command_id = run_and_command
    job = runner.ok(runner.post(f"/runs/{run_id}/runner-jobs", job_body(command_id)), 201)
    assert job["serviceAccountName"] is None
    assert job["result"] == {}


def test_repeating_a_runner_job_with_the_same_key_and_payload_returns_the_original(
    runner: Api, run_and_command: tuple[str, str]
) -> None:
    run_id, command_id = run_and_command
    body = job_body(command_id, idempotencyKey=unique("key"))
    first = runner.ok(runner.post(f"/runs/{run_id}/runner-jobs", body), 201)
    replay = runner.post(f"/runs/{run_id}/runner-jobs", body)
    assert replay.status_code == 200
    again = replay.json()
    assert {k: v for k, v in again.items() if k != "position"} == {
        k: v for k, v in first.items() if k != "position"
    }
    assert runner.ok(runner.get(f"/runs/{run_id}/runner-jobs"))["count"] == 1


def test_reusing_a_runner_job_key_with_another_payload_conflicts(
    runner: Api, run_and_command: tuple[str, str]
) -> None:
    run_id, command_id = run_and_command
    key = unique("key")
    runner.ok(runner.post(f"/runs/{run_id}/runner-jobs", job_body(command_id, idempotencyKey=key)), 201)
    response = runner.post(
        f"/runs/{run_id}/runner-jobs", job_body(command_id, idempotencyKey=key, attemptId="2")
    )
    assert response.status_code == 409
    assert error_kind(response) == "conflict"
    assert runner.ok(runner.get(f"/runs/{run_id}/runner-jobs"))["count"] == 1


def test_listing_runner_jobs_filters_by_command(
    client: Api, runner: Api, run_and_command: tuple[str, str]
) -> None:
    run_id, first_command = run_and_command
    second_command = client.ok(
        client.post(f"/runs/{run_id}/commands", {"type": "steer", "payload": {}}), 201
    )["id"]
    a = runner.ok(runner.post(f"/runs/{run_id}/runner-jobs", job_body(first_command)), 201)
    b = runner.ok(runner.post(f"/runs/{run_id}/runner-jobs", job_body(second_command)), 201)
    c = runner.ok(
        runner.post(f"/runs/{run_id}/runner-jobs", job_body(first_command, attemptId="attempt-2")),
        201,
    )

    everything = runner.ok(runner.get(f"/runs/{run_id}/runner-jobs"))
    RunnerJobList.model_validate(everything)
    assert [j["id"] for j in everything["items"]] == [a["id"], b["id"], c["id"]]
    assert everything["count"] == 3

    only_first = runner.ok(runner.get(f"/runs/{run_id}/runner-jobs", commandId=first_command))
    assert [j["id"] for j in only_first["items"]] == [a["id"], c["id"]]
    assert only_first["count"] == 2
    only_second = client.ok(client.get(f"/runs/{run_id}/runner-jobs", commandId=second_command))
    assert [j["id"] for j in only_second["items"]] == [b["id"]]
    none = runner.ok(runner.get(f"/runs/{run_id}/runner-jobs", commandId=unique("cmd_missing")))
    assert none == {"items": [], "count": 0}


def test_listing_runner_jobs_of_a_run_without_any_is_empty(
    runner: Api, run_and_command: tuple[str, str]
) -> None:
    run_id, _ = run_and_command
    assert runner.ok(runner.get(f"/runs/{run_id}/runner-jobs")) == {"items": [], "count": 0}


def test_runner_job_results_are_redacted(runner: Api, run_and_command: tuple[str, str]) -> None:
    run_id, command_id = run_and_command
    result = {
        "logs": [{"AWS_SECRET": "x", "line": "ok"}],
        "inputTokens": 4,
        "credentials": {"user": "u"},
    }
    job = runner.ok(runner.post(f"/runs/{run_id}/runner-jobs", job_body(command_id, result=result)), 201)
    expected = {
        "logs": [{"AWS_SECRET": "[redacted]", "line": "ok"}],
        "inputTokens": 4,
        "credentials": "[redacted]",
    }
    assert job["result"] == expected
    assert runner.ok(runner.get(f"/runs/{run_id}/runner-jobs"))["items"][0]["result"] == expected


def test_a_runner_job_of_an_unknown_command_is_not_found(
    runner: Api, run_and_command: tuple[str, str]
) -> None:
    run_id, _ = run_and_command
    response = runner.post(f"/runs/{run_id}/runner-jobs", job_body(unique("cmd_missing")))
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_a_runner_job_of_another_runs_command_is_not_found(
    client: Api, runner: Api, run_and_command: tuple[str, str]
) -> None:
    _, command_id = run_and_command
    other_run = client.create_run()["id"]
    response = runner.post(f"/runs/{other_run}/runner-jobs", job_body(command_id))
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_runner_jobs_of_an_unknown_run_are_not_found(runner: Api) -> None:
    missing = unique("run_missing")
    response = runner.post(f"/runs/{missing}/runner-jobs", job_body("cmd_x"))
    assert response.status_code == 404
    assert error_kind(response) == "not-found"
    listing = runner.get(f"/runs/{missing}/runner-jobs")
    assert listing.status_code == 404
    assert error_kind(listing) == "not-found"


INVALID_JOB_CHANGES: dict[str, dict[str, Any]] = {
    "missing-attemptId": {"drop": "attemptId"},
    "missing-image": {"drop": "image"},
    "missing-commandId": {"drop": "commandId"},
    "namespace-empty": {"set": {"namespace": ""}},
    "result-string": {"set": {"result": "ok"}},
    "image-int": {"set": {"image": 1}},
    "unknown-field": {"set": {"cluster": "c1"}},
}


def test_recording_an_invalid_runner_job_is_schema_invalid(
    runner: Api, run_and_command: tuple[str, str]
) -> None:
    run_id, command_id = run_and_command
    for case, change in INVALID_JOB_CHANGES.items():
        body = job_body(command_id)
        body.pop(change.get("drop", ""), None)
        body.update(change.get("set", {}))
        response = runner.post(f"/runs/{run_id}/runner-jobs", body)
        assert response.status_code == 422, case
        assert error_kind(response) == "schema-invalid", case
    assert runner.ok(runner.get(f"/runs/{run_id}/runner-jobs"))["count"] == 0
