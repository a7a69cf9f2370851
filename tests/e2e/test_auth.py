"""Authentication, roles and tenant scoping on the run, command, run event and runner routes.

`test_role_matrix.py` walks every operation × role × (own, other tenant) and proves the status
(403 for a role without the action, 404 for another tenant's resource, reads allowed). This file
proves what the matrix does not: 401 on every route, the error kinds, that a refused request writes
nothing, tokens of all tenants (`"*"`), tokens of two tenants' clients, and a hidden resource
looking like a missing one. Each walk over routes is one test (one server round trip per route).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
ROUTE_BY_NAME = {r[0]: r for r in ROUTES}


ApiOf = Callable[[str], Api]


@pytest.fixture(scope="module")
def api_of(server: Server) -> ApiOf:
    """One client per role and backend: building an httpx client costs ~50 ms (its TLS context)."""
    cache: dict[str, Api] = {}

    def of(role: str) -> Api:
        if role not in cache:
            cache[role] = server.client(role)
        return cache[role]

    return of


def new_ids(api_of: ApiOf) -> dict[str, str]:
    """A fresh tenant-a run with one pending command."""
    client = api_of("client")
    run = client.create_run(tenant="tenant-a")
    command = client.ok(client.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {}}), 201)
    return {"run": run["id"], "command": command["id"]}


@pytest.fixture(scope="module")
def ids(api_of: ApiOf) -> dict[str, str]:
    """One run with a pending command per backend, for the tests that change nothing of it."""
    return new_ids(api_of)


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


@pytest.fixture(scope="module")
def bare(server: Server) -> Iterator[httpx.Client]:
    """A client without credentials, on the server's /api/v1 (one per backend)."""
    with httpx.Client(base_url=server.base_url + "/api/v1", timeout=30) as http:
        yield http


def raw_call(
    http: httpx.Client, route: tuple[str, str, str, Any], ids: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    """The request with exactly these headers."""
    _, method, path, body = route
    json = fill(body, ids) if method == "POST" else None
    return http.request(method, fill(path, ids), json=json, headers=headers)


def assert_untouched(admin: Api, ids: dict[str, str]) -> None:
    """The run is still pending and unclaimed, without events, with its one pending command."""
    run = admin.ok(admin.get(f"/runs/{ids['run']}"))
    assert run["status"] == "pending" and run["claimEpoch"] == 0
    assert admin.ok(admin.get(f"/runs/{ids['run']}/events"))["count"] == 0
    assert admin.ok(admin.get(f"/runs/{ids['run']}/commands"))["count"] == 1
    assert admin.ok(admin.get(f"/commands/{ids['command']}"))["state"] == "pending"


# -- authentication -------------------------------------------------------------------


def test_every_route_without_a_token_or_with_an_unknown_token_is_unauthorized(
    bare: httpx.Client, admin: Api, ids: dict[str, str]
) -> None:
    wrong = []
    for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
        for route in ROUTES:
            response = raw_call(bare, route, ids, headers)
            if response.status_code != 401 or error_kind(response) != "unauthorized":
                wrong.append((route[0], headers, response.status_code, response.text))
    assert wrong == []
    assert_untouched(admin, ids)


MALFORMED_HEADERS = [
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "test-token-admin",  # a token without a scheme
    "Token test-token-admin",  # another scheme
    "Bearer test-token-admin-x",  # a real token with a suffix
]


def test_a_malformed_authorization_header_is_unauthorized(bare: httpx.Client, ids: dict[str, str]) -> None:
    for header in MALFORMED_HEADERS:
        response = raw_call(bare, ROUTE_BY_NAME["get-run"], ids, {"Authorization": header})
        assert response.status_code == 401, header
        assert error_kind(response) == "unauthorized", header


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
    assert_untouched(admin, ids)


def test_health_needs_no_token_and_ignores_a_bad_one(server: Server) -> None:
    response = httpx.get(server.base_url + "/healthz")
    assert response.status_code == 200
    assert response.json()["ready"] is True
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


def test_a_role_without_the_permission_is_forbidden_and_writes_nothing(
    api_of: ApiOf, admin: Api, ids: dict[str, str]
) -> None:
    # The role matrix proves the 403 of every operation and role; this proves the kind (not
    # `tenant-policy-denied`), the envelope, and that nothing of the run or command changed.
    wrong = []
    for role, route_name in FORBIDDEN:
        response = call(api_of(role), ROUTE_BY_NAME[route_name], ids)
        if response.status_code != 403 or error_kind(response) != "forbidden":
            wrong.append((role, route_name, response.status_code, response.text))
    assert wrong == []
    assert_untouched(admin, ids)


READS = ["get-run", "list-events", "list-commands", "get-command", "list-runner-jobs"]


def test_reading_roles_may_read_runs_of_their_tenants(api_of: ApiOf, ids: dict[str, str]) -> None:
    # Including tokens of all tenants (runner, admin), which the role matrix has not.
    for role in ("client", "operator", "auditor", "runner", "admin"):
        api = api_of(role)
        for route_name in READS:
            response = call(api, ROUTE_BY_NAME[route_name], ids)
            assert response.status_code == 200, (role, route_name, response.text)


def test_clients_and_operators_may_cancel_runs_and_commands(api_of: ApiOf) -> None:
    for role in ("operator", "client"):
        ids = new_ids(api_of)
        api = api_of(role)
        assert api.ok(api.post(f"/commands/{ids['command']}/cancel"))["state"] == "cancelled"
        assert api.ok(api.post(f"/runs/{ids['run']}/cancel"))["status"] == "cancelled"


def test_a_runner_may_operate_a_run_end_to_end(api_of: ApiOf) -> None:
    ids = new_ids(api_of)
    runner = api_of("runner")
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
    runner.ok(
        runner.post(f"/runs/{run_id}/runner-jobs", fill(ROUTE_BY_NAME["record-runner-job"][3], ids)), 201
    )
    runner.ok(runner.post(f"/commands/{command_id}/finish", {"terminalStatus": "completed"}))
    assert (
        runner.ok(runner.post(f"/runs/{run_id}/finish", {"terminalStatus": "completed"}))["status"]
        == "completed"
    )


# -- tenant scoping -------------------------------------------------------------------

SCOPED_ROUTES = [r for r in ROUTES if r[0] not in {"create-run", "register-runner"}]


def test_an_admin_of_all_tenants_reaches_every_route(api_of: ApiOf, admin: Api) -> None:
    # The role matrix's admin holds tenant-a only; this token holds "*". A fresh run per route.
    wrong = []
    for route in SCOPED_ROUTES:
        response = call(admin, route, new_ids(api_of))
        # A heartbeat of an unclaimed run is refused by the run itself, not by access control.
        expected = (409,) if route[0] == "heartbeat" else (200, 201)
        if response.status_code not in expected:
            wrong.append((route[0], response.status_code, response.text))
    assert wrong == []


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


def test_creating_a_run_in_a_tenant_outside_the_token_is_forbidden(api_of: ApiOf) -> None:
    for role, tenant in (("client", "tenant-b"), ("client-b", "tenant-a"), ("client", "tenant-z")):
        response = api_of(role).post(
            "/runs", {"tenantId": tenant, "projectId": "p", "backendProfile": "codex"}
        )
        assert response.status_code == 403, (role, tenant)
        assert error_kind(response) == "forbidden"


def test_an_admin_of_all_tenants_may_create_runs_anywhere(admin: Api) -> None:
    run = admin.create_run(tenant=unique("tenant"))
    assert run["status"] == "pending"
