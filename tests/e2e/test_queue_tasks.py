"""Queue tasks over HTTP: create (idempotently), read, attempts, cancel, read marks, errors, scoping."""

from __future__ import annotations

from typing import Any

from interfaces.http.queue.models import QueueReadCursorOut, QueueTaskOut
from tests.support.server import Api, Server, error_kind, unique

TASK_FIELDS = {
    "id",
    "tenantId",
    "projectId",
    "queue",
    "lane",
    "priority",
    "payload",
    "payloadHash",
    "idempotencyKey",
    "state",
    "version",
    "latestAttempt",
    "sessionPath",
    "createdAt",
    "updatedAt",
    "cancelledAt",
    "cancelReason",
    "position",
}


def task_body(queue_name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "tenantId": "tenant-a",
        "projectId": "proj",
        "queue": queue_name,
        "lane": "default",
        "priority": 0,
        "payload": {"job": "build"},
        **overrides,
    }


def create(api: Api, queue: str, status: int = 201, **overrides: Any) -> dict[str, Any]:
    return dict(api.ok(api.post("/queue/tasks", task_body(queue, **overrides)), status))


def attempt(api: Api, task_id: str, state: str, attempt_id: str = "a1", **extra: Any) -> Any:
    return api.post(
        f"/queue/tasks/{task_id}/attempts",
        {"state": state, "latestAttempt": {"attemptId": attempt_id}, **extra},
    )


# -- create ---------------------------------------------------------------------------


def test_a_created_task_is_pending_with_every_contract_field(client: Api) -> None:
    queue = unique("q")
    task = create(client, queue, lane="gpu", priority=7, payload={"job": "build", "apiKey": "sk-1"})

    assert set(task) >= TASK_FIELDS
    QueueTaskOut.model_validate(task)
    assert task["id"].startswith("qt_")
    assert (task["queue"], task["lane"], task["priority"], task["state"]) == (queue, "gpu", 7, "pending")
    assert task["payload"] == {"job": "build", "apiKey": "[redacted]"}
    assert task["latestAttempt"] is None and task["sessionPath"] is None and task["idempotencyKey"] is None
    assert task["cancelledAt"] is None and task["cancelReason"] is None
    assert task["version"] == task["position"] > 0
    assert task["createdAt"].endswith("Z") and task["createdAt"] == task["updatedAt"]
    assert client.ok(client.get(f"/queue/tasks/{task['id']}")) == task


def test_the_same_idempotency_key_and_payload_returns_the_original_task(client: Api) -> None:
    queue, key = unique("q"), unique("key")
    first = create(client, queue, idempotencyKey=key)

    again = create(client, queue, status=200, idempotencyKey=key)

    assert again == first
    assert again["idempotencyKey"] == key and len(again["payloadHash"]) == 64


def test_the_same_idempotency_key_with_another_payload_conflicts(client: Api) -> None:
    queue, key = unique("q"), unique("key")
    create(client, queue, idempotencyKey=key)

    for change in ({"payload": {"job": "deploy"}}, {"priority": 3}, {"lane": "other"}):
        response = client.post("/queue/tasks", task_body(queue, idempotencyKey=key, **change))
        assert response.status_code == 409 and error_kind(response) == "conflict", change


def test_an_idempotency_key_is_scoped_to_its_project(client: Api) -> None:
    queue, key = unique("q"), unique("key")
    first = create(client, queue, idempotencyKey=key)

    other = create(client, queue, idempotencyKey=key, projectId="other-proj", payload={"job": "other"})

    assert other["id"] != first["id"]


ILL_TYPED: dict[str, dict[str, Any]] = {
    "priority-str": {"priority": "high"},
    "priority-bool": {"priority": True},
    "priority-float": {"priority": 1.5},
    "payload": {"payload": "not an object"},
    "lane": {"lane": ""},
    "queue": {"queue": None},
    "key": {"idempotencyKey": ""},
    "unknown": {"unknown": 1},
}


def test_an_ill_typed_or_unknown_field_is_schema_invalid(client: Api) -> None:
    for case, change in ILL_TYPED.items():
        response = client.post("/queue/tasks", task_body(unique("q"), **change))
        assert response.status_code == 422 and error_kind(response) == "schema-invalid", case


def test_a_missing_field_is_schema_invalid(client: Api) -> None:
    for missing in ("tenantId", "projectId", "queue", "lane", "priority", "payload"):
        body = task_body(unique("q"))
        del body[missing]
        response = client.post("/queue/tasks", body)
        assert response.status_code == 422 and error_kind(response) == "schema-invalid", missing


def test_bad_json_is_schema_invalid(server: Server) -> None:
    response = server.client("client").http.post(
        "/queue/tasks", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and error_kind(response) == "schema-invalid"


def test_creating_in_another_tenant_or_without_the_permission_is_forbidden(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    for api, body in (
        (client, task_body(unique("q"), tenantId="tenant-b")),
        (runner, task_body(unique("q"))),
    ):
        response = api.post("/queue/tasks", body)
        assert response.status_code == 403 and error_kind(response) == "forbidden"


QUEUE_ROUTES = [
    ("POST", "/queue/tasks"),
    ("GET", "/queue/tasks"),
    ("GET", "/queue/tasks/{task}"),
    ("POST", "/queue/tasks/{task}/attempts"),
    ("POST", "/queue/tasks/{task}/cancel"),
    ("POST", "/queue/tasks/{task}/read"),
    ("GET", "/queue/stats"),
    ("GET", "/queue/commander"),
]


def test_every_queue_route_needs_a_token(server: Server, client: Api) -> None:
    task = create(client, unique("q"))
    anonymous = server.client("")
    for method, path in QUEUE_ROUTES:
        url = path.replace("{task}", task["id"])
        response = anonymous.get(url) if method == "GET" else anonymous.post(url, task_body(unique("q")))
        assert response.status_code == 401 and error_kind(response) == "unauthorized", (method, path)
        wrong = anonymous.http.request(method, url, headers={"Authorization": "Bearer not-a-token"})
        assert wrong.status_code == 401 and error_kind(wrong) == "unauthorized", (method, path)
    assert client.ok(client.get(f"/queue/tasks/{task['id']}")) == task


# -- read -----------------------------------------------------------------------------


def test_an_unknown_task_is_not_found_on_every_route(client: Api, runner: Api, operator: Api) -> None:
    for response in (
        client.get("/queue/tasks/qt_missing"),
        attempt(runner, "qt_missing", "running"),
        operator.post("/queue/tasks/qt_missing/cancel", {}),
        client.post("/queue/tasks/qt_missing/read", {"readerId": "me"}),
    ):
        assert response.status_code == 404 and error_kind(response) == "not-found", response.request.url


def test_a_task_of_another_tenant_is_not_found(server: Server, client: Api) -> None:
    task = create(client, unique("q"))
    other = server.client("client-b")
    for response in (
        other.get(f"/queue/tasks/{task['id']}"),
        other.post(f"/queue/tasks/{task['id']}/read", {"readerId": "me"}),
    ):
        assert response.status_code == 404 and error_kind(response) == "not-found"
    b_task = create(other, unique("q"), tenantId="tenant-b")
    operator = server.client("operator")  # tenant-a only
    response = operator.post(f"/queue/tasks/{b_task['id']}/cancel", {})
    assert response.status_code == 404 and error_kind(response) == "not-found"
    assert (
        server.client("auditor").ok(server.client("auditor").get(f"/queue/tasks/{task['id']}"))["id"]
        == task["id"]
    )


# -- attempts -------------------------------------------------------------------------


def test_each_attempt_raises_the_version_and_is_what_the_task_shows(client: Api, runner: Api) -> None:
    task = create(client, unique("q"))

    claimed = runner.ok(attempt(runner, task["id"], "claimed", "a1"))
    running = runner.ok(attempt(runner, task["id"], "running", "a1", sessionPath="tenant-a/proj/s1"))

    assert task["version"] < claimed["version"] < running["version"]
    assert running["version"] == running["position"]
    assert (running["state"], running["latestAttempt"], running["sessionPath"]) == (
        "running",
        {"attemptId": "a1"},
        "tenant-a/proj/s1",
    )
    assert client.ok(client.get(f"/queue/tasks/{task['id']}")) == running


def test_an_attempt_keeps_its_extra_fields_redacted(client: Api, runner: Api) -> None:
    task = create(client, unique("q"))
    latest = {"attemptId": "a1", "runnerId": "r1", "auth_token": "t0k"}

    done = runner.ok(
        runner.post(f"/queue/tasks/{task['id']}/attempts", {"state": "completed", "latestAttempt": latest})
    )

    assert done["latestAttempt"] == {"attemptId": "a1", "runnerId": "r1", "auth_token": "[redacted]"}


def test_an_attempt_on_a_terminal_task_conflicts(client: Api, runner: Api) -> None:
    # Every terminal state, cancelled too: unit/test_queue_task::test_a_terminal_task_takes_no_more_attempts.
    task = create(client, unique("q"))
    done = runner.ok(attempt(runner, task["id"], "completed"))

    response = attempt(runner, task["id"], "running", "a2")

    assert response.status_code == 409 and error_kind(response) == "conflict"
    assert client.ok(client.get(f"/queue/tasks/{task['id']}")) == done


ILL_FORMED_ATTEMPTS: dict[str, dict[str, Any]] = {
    "state": {"state": "paused", "latestAttempt": {"attemptId": "a1"}},
    "no-attempt": {"state": "running"},
    "no-attempt-id": {"state": "running", "latestAttempt": {}},
    "empty-attempt-id": {"state": "running", "latestAttempt": {"attemptId": ""}},
    "int-attempt-id": {"state": "running", "latestAttempt": {"attemptId": 3}},
    "no-state": {"latestAttempt": {"attemptId": "a1"}},
    "unknown": {"state": "running", "latestAttempt": {"attemptId": "a1"}, "extra": True},
}


def test_an_ill_formed_attempt_is_schema_invalid(client: Api, runner: Api) -> None:
    task = create(client, unique("q"))
    for case, body in ILL_FORMED_ATTEMPTS.items():
        response = runner.post(f"/queue/tasks/{task['id']}/attempts", body)
        assert response.status_code == 422 and error_kind(response) == "schema-invalid", case
    assert client.ok(client.get(f"/queue/tasks/{task['id']}")) == task


def test_clients_may_not_record_attempts_but_operators_may(client: Api, operator: Api) -> None:
    task = create(client, unique("q"))
    response = attempt(client, task["id"], "running")
    assert response.status_code == 403 and error_kind(response) == "forbidden"
    assert operator.ok(attempt(operator, task["id"], "running"))["state"] == "running"


# -- cancel ---------------------------------------------------------------------------


def test_cancel_records_the_reason_and_a_repeat_changes_nothing(client: Api, operator: Api) -> None:
    task = create(client, unique("q"))

    cancelled = operator.ok(operator.post(f"/queue/tasks/{task['id']}/cancel", {"reason": "not needed"}))
    again = operator.ok(operator.post(f"/queue/tasks/{task['id']}/cancel", {"reason": "twice"}))

    assert (cancelled["state"], cancelled["cancelReason"]) == ("cancelled", "not needed")
    assert cancelled["cancelledAt"].endswith("Z") and cancelled["version"] > task["version"]
    assert again == cancelled


def test_cancel_without_a_reason_says_cancel_requested(client: Api, operator: Api) -> None:
    task = create(client, unique("q"))
    cancelled = operator.ok(operator.post(f"/queue/tasks/{task['id']}/cancel"))
    assert cancelled["cancelReason"] == "cancel requested"


def test_runners_may_not_cancel_but_clients_may(server: Server, client: Api, runner: Api) -> None:
    task = create(client, unique("q"))
    response = runner.post(f"/queue/tasks/{task['id']}/cancel", {})
    assert response.status_code == 403 and error_kind(response) == "forbidden"
    assert client.ok(client.post(f"/queue/tasks/{task['id']}/cancel", {}))["state"] == "cancelled"
    response = server.client("admin").post(f"/queue/tasks/{task['id']}/cancel", {"reason": 5})
    assert response.status_code == 422 and error_kind(response) == "schema-invalid"


# -- read marks -----------------------------------------------------------------------


def test_a_read_mark_records_the_version_the_reader_saw(client: Api, runner: Api) -> None:
    task = create(client, unique("q"))
    running = runner.ok(attempt(runner, task["id"], "running"))

    mark = client.ok(client.post(f"/queue/tasks/{task['id']}/read", {"readerId": "alice"}))

    QueueReadCursorOut.model_validate(mark)
    assert set(mark) == {"taskId", "readerId", "taskVersion", "readAt", "position"}
    assert (mark["taskId"], mark["readerId"], mark["taskVersion"]) == (
        task["id"],
        "alice",
        running["version"],
    )
    assert mark["position"] > running["position"] and mark["readAt"].endswith("Z")
    # A read mark is not a change of the task.
    assert client.ok(client.get(f"/queue/tasks/{task['id']}"))["version"] == running["version"]


def test_a_read_mark_needs_a_reader_and_the_permission(client: Api, runner: Api) -> None:
    task = create(client, unique("q"))
    for body in ({}, {"readerId": ""}, {"readerId": 3}):
        response = client.post(f"/queue/tasks/{task['id']}/read", body)
        assert response.status_code == 422 and error_kind(response) == "schema-invalid"
    response = runner.post(f"/queue/tasks/{task['id']}/read", {"readerId": "r"})
    assert response.status_code == 403 and error_kind(response) == "forbidden"
