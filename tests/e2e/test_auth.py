"""Authentication, roles and tenant scoping on the run, command, run event and runner routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.server import Api, Server, error_kind, unique

# (name, method, path with {run}/{command} placeholders, body)
ROUTES: list[tuple[str, str, str, Any]] = [
    (
        "create-run",
        "POST",
        "/runs",
        {"tenantId": "tenant-a", "projectId": "p", "backendProfile": "codex"},
    ),
    ("get-run", "GET", "/runs/{run}", None),
    ("claim", "POST", "/runs/{run}/claim", {"runnerId": "r", "leaseMs": 1000}),
    (
        "heartbeat",
        "POST",
        "/runs/{run}/heartbeat",
        {"runnerId": "r", "claimEpoch": 1, "leaseMs": 1000},
    ),
    ("finish-run", "POST", "/runs/{run}/finish", {"terminalStatus": "completed"}),
    ("cancel-run", "POST", "/runs/{run}/cancel", {}),
    ("append-event", "POST", "/runs/{run}/events", {"type": "diff", "payload": {}}),
    (
        "append-batch",
        "POST",
        "/runs/{run}/events:batch",
        {"events": [{"type": "diff", "payload": {}}]},
    ),
    ("list-events", "GET", "/runs/{run}/events", None),
    ("create-command", "POST", "/runs/{run}/commands", {"type": "turn", "payload": {}}),
    ("list-commands", "GET", "/runs/{run}/commands", None),
    ("get-command", "GET", "/commands/{command}", None),
    ("ack-command", "POST", "/commands/{command}/ack", {}),
    ("finish-command", "POST", "/commands/{command}/finish", {"terminalStatus": "completed"}),
    ("cancel-command", "POST", "/commands/{command}/cancel", {}),
    ("register-runner", "POST", "/runners", {"labels": {}}),
    (
        "record-runner-job",
        "POST",
        "/runs/{run}/runner-jobs",
        {
            "commandId": "{command}",
            "attemptId": "a",
            "runnerId": "r",
            "namespace": "n",
            "jobName": "j",
            "image": "i",
            "sourceCommit": "c",
        },
    ),
    ("list-runner-jobs", "GET", "/runs/{run}/runner-jobs", None),
]
ROUTE_IDS = [r[0] for r in ROUTES]


@pytest.fixture
def ids(server: Server) -> dict[str, str]:
    """A fresh tenant-a run with one pending command."""
    client = server.client("client")
    run = client.create_run(tenant="tenant-a")
    command = client.ok(client.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {}}), 201)
    return {"run": run["id"], "command": command["id"]}


def fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.replace("{run}", ids["run"]).replace("{command}", ids["command"])
    if isinstance(template, dict):
        return {k: fill(v, ids) for k, v in template.items()}
    return template


def call(api: Api, route: tuple[str, str, str, Any], ids: dict[str, str]) -> httpx.Response:
    _, method, path, body = route
    if method == "GET":
        return api.get(fill(path, ids))
    return api.post(fill(path, ids), fill(body, ids))


def raw_call(
    server: Server, route: tuple[str, str, str, Any], ids: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    _, method, path, body = route
    url = server.base_url + "/api/v1" + fill(path, ids)
    return httpx.request(method, url, json=fill(body, ids) if method == "POST" else None, headers=headers)


# -- authentication -------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_every_route_without_a_token_is_unauthorized(server: Server, ids: dict[str, str], route: Any) -> None:
    response = raw_call(server, route, ids, {})
    assert response.status_code == 401
    assert error_kind(response) == "unauthorized"


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_every_route_with_an_unknown_token_is_unauthorized(
    server: Server, ids: dict[str, str], route: Any
) -> None:
    response = raw_call(server, route, ids, {"Authorization": "Bearer not-a-real-token"})
    assert response.status_code == 401
    assert error_kind(response) == "unauthorized"


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "test-token-admin",
        "Token test-token-admin",
        "Bearer test-token-admin-x",
    ],
    ids=[
        "basic",
        "bearer-without-token",
        "token-without-scheme",
        "other-scheme",
        "token-with-suffix",
    ],
)
def test_a_malformed_authorization_header_is_unauthorized(
    server: Server, ids: dict[str, str], header: str
) -> None:
    response = raw_call(server, ROUTES[1], ids, {"Authorization": header})
    assert response.status_code == 401
    assert error_kind(response) == "unauthorized"


def test_unauthorized_comes_before_not_found_and_validation(server: Server) -> None:
    anonymous = server.client("")
    missing = anonymous.get(f"/runs/{unique('run_missing')}")
    assert missing.status_code == 401
    invalid = anonymous.post("/runs", {"nonsense": True})
    assert invalid.status_code == 401
    assert error_kind(invalid) == "unauthorized"


def test_an_unauthorized_request_writes_nothing(server: Server, admin: Api, ids: dict[str, str]) -> None:
    anonymous = server.client("")
    assert anonymous.post(f"/runs/{ids['run']}/events", {"type": "diff", "payload": {}}).status_code == 401
    assert anonymous.post(f"/runs/{ids['run']}/claim", {"runnerId": "r", "leaseMs": 1000}).status_code == 401
    run = admin.ok(admin.get(f"/runs/{ids['run']}"))
    assert run["status"] == "pending"
    assert admin.ok(admin.get(f"/runs/{ids['run']}/events"))["count"] == 0


def test_health_needs_no_token(server: Server) -> None:
    response = httpx.get(server.base_url + "/healthz")
    assert response.status_code == 200
    assert response.json()["ready"] is True


def test_health_ignores_a_bad_token(server: Server) -> None:
    response = httpx.get(server.base_url + "/healthz", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 200


# -- roles ----------------------------------------------------------------------------

FORBIDDEN: list[tuple[str, str]] = [
    ("auditor", "create-run"),
    ("runner", "create-run"),
    ("operator", "create-run"),
    ("worker", "create-run"),
    ("client", "claim"),
    ("client", "heartbeat"),
    ("client", "finish-run"),
    ("client", "append-event"),
    ("client", "append-batch"),
    ("client", "ack-command"),
    ("client", "finish-command"),
    ("client", "register-runner"),
    ("client", "record-runner-job"),
    ("runner", "cancel-run"),
    ("runner", "cancel-command"),
    ("runner", "create-command"),
    ("auditor", "create-command"),
    ("auditor", "claim"),
    ("auditor", "append-event"),
    ("auditor", "cancel-run"),
    ("auditor", "register-runner"),
    ("operator", "claim"),
    ("operator", "append-event"),
    ("operator", "create-command"),
    ("operator", "finish-run"),
    ("operator", "ack-command"),
    ("operator", "record-runner-job"),
    ("worker", "get-run"),
    ("worker", "list-events"),
    ("worker", "get-command"),
    ("worker", "claim"),
    ("worker", "register-runner"),
]


@pytest.mark.parametrize(("role", "route_name"), FORBIDDEN, ids=[f"{r}-{n}" for r, n in FORBIDDEN])
def test_a_role_without_the_permission_is_forbidden(
    server: Server, admin: Api, ids: dict[str, str], role: str, route_name: str
) -> None:
    route = next(r for r in ROUTES if r[0] == route_name)
    response = call(server.client(role), route, ids)
    assert response.status_code == 403, response.text
    assert error_kind(response) == "forbidden"
    run = admin.ok(admin.get(f"/runs/{ids['run']}"))
    assert run["status"] == "pending" and run["claimEpoch"] == 0
    assert admin.ok(admin.get(f"/runs/{ids['run']}/events"))["count"] == 0
    assert admin.ok(admin.get(f"/runs/{ids['run']}/commands"))["count"] == 1
    assert admin.ok(admin.get(f"/commands/{ids['command']}"))["state"] == "pending"


READS = ["get-run", "list-events", "list-commands", "get-command", "list-runner-jobs"]


@pytest.mark.parametrize("role", ["client", "operator", "auditor", "runner", "admin"])
@pytest.mark.parametrize("route_name", READS)
def test_reading_roles_may_read_runs_of_their_tenants(
    server: Server, ids: dict[str, str], role: str, route_name: str
) -> None:
    route = next(r for r in ROUTES if r[0] == route_name)
    response = call(server.client(role), route, ids)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("role", ["operator", "client"])
def test_clients_and_operators_may_cancel_runs_and_commands(
    server: Server, ids: dict[str, str], role: str
) -> None:
    operator = server.client(role)
    assert operator.ok(operator.post(f"/commands/{ids['command']}/cancel"))["state"] == "cancelled"
    assert operator.ok(operator.post(f"/runs/{ids['run']}/cancel"))["status"] == "cancelled"


def test_a_runner_may_operate_a_run_end_to_end(server: Server, ids: dict[str, str]) -> None:
    runner = server.client("runner")
    run_id, command_id = ids["run"], ids["command"]
    runner.ok(runner.post("/runners", {"id": unique("runner"), "labels": {}}), 200)
    claimed = runner.ok(runner.post(f"/runs/{run_id}/claim", {"runnerId": "r", "leaseMs": 60_000}))
    runner.ok(
        runner.post(
            f"/runs/{run_id}/heartbeat",
            {"runnerId": "r", "claimEpoch": claimed["claimEpoch"], "leaseMs": 60_000},
        )
    )
    runner.ok(runner.post(f"/commands/{command_id}/ack"))
    runner.ok(runner.post(f"/runs/{run_id}/events", {"type": "diff", "payload": {}}), 201)
    runner.ok(
        runner.post(f"/runs/{run_id}/events:batch", {"events": [{"type": "usage", "payload": {}}]}),
        201,
    )
    runner.ok(runner.post(f"/runs/{run_id}/runner-jobs", fill(ROUTES[16][3], ids)), 201)
    runner.ok(runner.post(f"/commands/{command_id}/finish", {"terminalStatus": "completed"}))
    assert (
        runner.ok(runner.post(f"/runs/{run_id}/finish", {"terminalStatus": "completed"}))["status"]
        == "completed"
    )


def test_a_client_may_create_runs_and_commands(server: Server) -> None:
    client = server.client("client")
    run = client.create_run(tenant="tenant-a")
    command = client.ok(client.post(f"/runs/{run['id']}/commands", {"type": "steer", "payload": {}}), 201)
    assert command["runId"] == run["id"]


# -- tenant scoping -------------------------------------------------------------------

SCOPED_ROUTES = [r for r in ROUTES if r[0] not in {"create-run", "register-runner"}]


@pytest.mark.parametrize("route", SCOPED_ROUTES, ids=[r[0] for r in SCOPED_ROUTES])
def test_an_admin_of_all_tenants_reaches_every_route(admin: Api, ids: dict[str, str], route: Any) -> None:
    response = call(admin, route, ids)
    # A heartbeat of an unclaimed run is refused by the run itself, not by access control.
    expected = (409,) if route[0] == "heartbeat" else (200, 201)
    assert response.status_code in expected, response.text


def test_a_client_of_another_tenant_does_not_see_a_run(server: Server, ids: dict[str, str]) -> None:
    other = server.client("client-b")
    for path in (
        f"/runs/{ids['run']}",
        f"/runs/{ids['run']}/events",
        f"/runs/{ids['run']}/commands",
        f"/runs/{ids['run']}/runner-jobs",
        f"/commands/{ids['command']}",
    ):
        response = other.get(path)
        assert response.status_code == 404, (path, response.text)
        assert error_kind(response) == "not-found"
        assert "tenant-a" not in response.text


def test_a_client_of_another_tenant_cannot_send_commands_to_a_run(
    server: Server, admin: Api, ids: dict[str, str]
) -> None:
    other = server.client("client-b")
    response = other.post(f"/runs/{ids['run']}/commands", {"type": "turn", "payload": {}})
    assert response.status_code == 404
    assert error_kind(response) == "not-found"
    assert admin.ok(admin.get(f"/runs/{ids['run']}/commands"))["count"] == 1


def test_a_hidden_run_looks_exactly_like_a_missing_one(server: Server, ids: dict[str, str]) -> None:
    other = server.client("client-b")
    hidden = other.get(f"/runs/{ids['run']}").json()
    missing_id = unique("run_missing")
    missing = other.get(f"/runs/{missing_id}").json()
    assert hidden["error"]["kind"] == missing["error"]["kind"] == "not-found"
    assert hidden["error"]["message"].replace(ids["run"], "X") == missing["error"]["message"].replace(
        missing_id, "X"
    )
    assert hidden["error"]["details"] == missing["error"]["details"]


def test_an_operator_does_not_see_or_cancel_runs_of_other_tenants(server: Server, admin: Api) -> None:
    run_b = server.client("client-b").create_run(tenant="tenant-b")
    operator = server.client("operator")
    assert operator.get(f"/runs/{run_b['id']}").status_code == 404
    response = operator.post(f"/runs/{run_b['id']}/cancel")
    assert response.status_code == 404
    assert error_kind(response) == "not-found"
    assert admin.ok(admin.get(f"/runs/{run_b['id']}"))["status"] == "pending"


def test_an_auditor_does_not_see_runs_of_other_tenants(server: Server) -> None:
    run_b = server.client("client-b").create_run(tenant="tenant-b")
    response = server.client("auditor").get(f"/runs/{run_b['id']}")
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_each_client_sees_its_own_tenants_run(server: Server) -> None:
    run_b = server.client("client-b").create_run(tenant="tenant-b")
    assert (
        server.client("client-b").ok(server.client("client-b").get(f"/runs/{run_b['id']}"))["tenantId"]
        == "tenant-b"
    )
    assert server.client("client").get(f"/runs/{run_b['id']}").status_code == 404


@pytest.mark.parametrize(
    ("role", "tenant"), [("client", "tenant-b"), ("client-b", "tenant-a"), ("client", "tenant-z")]
)
def test_creating_a_run_in_a_tenant_outside_the_token_is_forbidden(
    server: Server, role: str, tenant: str
) -> None:
    response = server.client(role).post(
        "/runs", {"tenantId": tenant, "projectId": "p", "backendProfile": "codex"}
    )
    assert response.status_code == 403
    assert error_kind(response) == "forbidden"


def test_an_admin_of_all_tenants_may_create_runs_anywhere(admin: Api) -> None:
    run = admin.create_run(tenant=unique("tenant"))
    assert run["status"] == "pending"
