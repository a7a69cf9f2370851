"""Every /api/v1 operation of /openapi.json × every role × (own tenant, another tenant's resource).

The table below is CONTRACT.md "Who may do what", one row per operation: the roles (besides admin)
that may call it and the kind of resource its path names. A role that lacks the action gets 403
`forbidden`; a resource of another tenant (or another principal's worker, or another caller's
inference task) is 404 `not-found` for every role that may act; nothing is ever a 500. An
operation in /openapi.json that the table does not name fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.server import MATRIX_ROLES, Server, token_of, unique

READERS = frozenset({"client", "operator", "runner", "auditor"})
CLIENT = frozenset({"client"})
RUNNER = frozenset({"runner"})
WORKER = frozenset({"worker"})
CANCELLERS = frozenset({"client", "operator"})
MARKERS = frozenset({"client", "operator"})
AUDITOR = frozenset({"auditor"})
INFERENCE_READERS = frozenset({"client", "operator", "auditor"})  # a client only its own tasks
SEES_ALL_INFERENCE = frozenset({"operator", "auditor", "admin"})


@dataclass(frozen=True)
class Op:
    """Who may call an operation, what its path names (`kind`), and a valid body."""

    roles: frozenset[str]
    kind: str | None  # run, command, session, queue, inference, worker, worker-body, wake, create
    body: Any = None
    stream: bool = False
    allowed_statuses: frozenset[int] = frozenset()  # beyond 2xx/409/422, e.g. the infer route's 503


FINISH = {"terminalStatus": "completed"}
TABLE: dict[tuple[str, str], Op] = {
    ("POST", "/runs"): Op(CLIENT, "create", {"projectId": "p", "backendProfile": "codex"}),
    ("GET", "/runs/{runId}"): Op(READERS, "run"),
    ("POST", "/runs/{runId}/claim"): Op(RUNNER, "run", {"runnerId": "r", "leaseMs": 60_000}),
    ("POST", "/runs/{runId}/heartbeat"): Op(
        RUNNER, "run", {"runnerId": "r", "claimEpoch": 1, "leaseMs": 60_000}
    ),
    ("POST", "/runs/{runId}/finish"): Op(RUNNER, "run", FINISH),
    ("POST", "/runs/{runId}/cancel"): Op(CANCELLERS, "run", {}),
    ("POST", "/runs/{runId}/events"): Op(RUNNER, "run", {"type": "diff", "payload": {}}),
    ("POST", "/runs/{runId}/events:batch"): Op(RUNNER, "run", {"events": [{"type": "diff", "payload": {}}]}),
    ("GET", "/runs/{runId}/events"): Op(READERS, "run"),
    ("POST", "/runs/{runId}/commands"): Op(CLIENT, "run", {"type": "turn", "payload": {}}),
    ("GET", "/runs/{runId}/commands"): Op(READERS, "run"),
    ("GET", "/commands/{commandId}"): Op(READERS, "command"),
    ("POST", "/commands/{commandId}/ack"): Op(RUNNER, "command", {}),
    ("POST", "/commands/{commandId}/finish"): Op(RUNNER, "command", FINISH),
    ("POST", "/commands/{commandId}/cancel"): Op(CANCELLERS, "command", {}),
    ("POST", "/runners"): Op(RUNNER, None, {"labels": {}}),
    ("POST", "/runs/{runId}/runner-jobs"): Op(
        RUNNER,
        "run",
        {
            "commandId": "{commandId}",
            "attemptId": "a",
            "runnerId": "r",
            "namespace": "n",
            "jobName": "j",
            "image": "i",
            "sourceCommit": "c",
        },
    ),
    ("GET", "/runs/{runId}/runner-jobs"): Op(READERS, "run"),
    ("GET", "/sessions"): Op(READERS, None),
    ("GET", "/sessions/counts"): Op(READERS, None),
    ("GET", "/sessions/{sessionId}"): Op(READERS, "session"),
    ("GET", "/sessions/{sessionId}/trace"): Op(READERS, "session"),
    ("GET", "/sessions/{sessionId}/output"): Op(READERS, "session"),
    ("POST", "/sessions/{sessionId}/read"): Op(MARKERS, "session", {"readerId": "matrix"}),
    ("POST", "/queue/tasks"): Op(
        CLIENT, "create", {"projectId": "p", "queue": "q", "lane": "l", "priority": 1, "payload": {}}
    ),
    ("GET", "/queue/tasks"): Op(READERS, None),
    ("POST", "/queue/tasks:cancel"): Op(CANCELLERS, None, {"queue": "{queue}"}),
    ("GET", "/queue/tasks/{taskId}"): Op(READERS, "queue"),
    ("POST", "/queue/tasks/{taskId}/attempts"): Op(
        frozenset({"operator", "runner"}), "queue", {"state": "running", "latestAttempt": {"attemptId": "a"}}
    ),
    ("POST", "/queue/tasks/{taskId}/cancel"): Op(CANCELLERS, "queue", {}),
    ("POST", "/queue/tasks/{taskId}/read"): Op(MARKERS, "queue", {"readerId": "matrix"}),
    ("GET", "/queue/stats"): Op(READERS, None),
    ("GET", "/queue/commander"): Op(READERS, None),
    ("POST", "/runs/{runId}/backend"): Op(frozenset({"runner", "worker"}), "run", {"backendId": "gpu-1"}),
    ("GET", "/runs/{runId}/backend"): Op(READERS, "run"),
    ("GET", "/backends"): Op(READERS, None),
    ("GET", "/events"): Op(AUDITOR, None),
    ("GET", "/events/stream"): Op(AUDITOR, None, stream=True),
    ("GET", "/audit/{aggregateId}"): Op(AUDITOR, "run"),
    ("GET", "/projections"): Op(READERS, None),
    ("POST", "/workers"): Op(WORKER, "worker", {"workerId": "{workerId}", "providers": "{providers}"}),
    ("GET", "/workers"): Op(frozenset({"operator", "auditor"}), None),
    ("GET", "/workers/{workerId}"): Op(frozenset({"operator", "auditor"}), None),
    ("POST", "/workers/{workerId}/heartbeat"): Op(WORKER, "worker", {}),
    ("GET", "/workers/{workerId}/channel"): Op(WORKER, "worker", stream=True),
    ("PUT", "/workers/{workerId}/state"): Op(WORKER, "worker", {"workerStatus": "idle"}),
    ("GET", "/llms"): Op(frozenset({"client", "operator", "auditor"}), None),
    ("POST", "/llms/{name}/infer"): Op(
        CLIENT, None, {"model": "m", "messages": []}, allowed_statuses=frozenset({503})
    ),
    ("POST", "/wakes/{wakeId}/result"): Op(WORKER, "wake", {"ok": True}),
    ("POST", "/inference-tasks"): Op(CLIENT, None, {"llmName": "{name}", "request": {}}),
    ("GET", "/inference-tasks"): Op(INFERENCE_READERS, None),
    ("GET", "/inference-tasks/counts"): Op(INFERENCE_READERS, None),
    ("GET", "/inference-tasks/{taskId}"): Op(INFERENCE_READERS, "inference"),
    ("GET", "/inference-tasks/{taskId}/stream"): Op(INFERENCE_READERS, "inference", stream=True),
    ("DELETE", "/inference-tasks/{taskId}"): Op(CANCELLERS, "inference"),
    ("POST", "/inference-tasks/{taskId}/chunks"): Op(
        WORKER, "worker-body", {"workerId": "{workerId}", "data": "x"}
    ),
    ("POST", "/inference-tasks/{taskId}/result"): Op(
        WORKER, "worker-body", {"workerId": "{workerId}", "body": "x"}
    ),
}
PREFIX = "/api/v1"


@dataclass
class Scope:
    """The ids a request's placeholders take in one scope (own tenant, or another's)."""

    tenant: str
    run: str = ""
    command: str = ""
    session: str = ""
    queue_task: str = ""
    queue: str = field(default_factory=lambda: unique("q"))
    inference_task: str = ""
    workers: dict[str, tuple[str, list[dict[str, Any]]]] = field(
        default_factory=dict
    )  # role -> id, providers
    wakes: dict[str, str] = field(default_factory=dict)  # role -> wake id


@dataclass
class World:
    own: Scope
    other: Scope
    infer_llm: str


def _wake_of(admin: httpx.Client, worker_id: str) -> str:
    params = {"aggregateId": f"worker:{worker_id}", "types": "Worker.WakeRequested"}
    items = admin.get("/events", params=params).json()["items"]
    assert items, f"no wake was requested of {worker_id}"
    return str(items[-1]["data"]["wakeId"])


def _register(http: httpx.Client, role: str, hibernating: bool) -> tuple[str, list[dict[str, Any]]]:
    providers = [{"name": unique("llm"), "model": "m", "hibernating": hibernating}]
    response = http.post(PREFIX + "/workers", json={"providers": providers}, headers=_auth(role))
    assert response.status_code == 200, response.text
    return str(response.json()["workerId"]), providers


def _auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(role)}"}


def build_world(http: httpx.Client) -> World:
    """One run (with a session and a command), queue task, inference task, worker and wake per scope."""
    admin = httpx.Client(base_url=str(http.base_url) + PREFIX, headers=_auth("admin"), timeout=30)
    with admin:
        own, other = Scope("tenant-a"), Scope("tenant-b")
        for scope in (own, other):
            scope.session = unique("sess")
            body = {"tenantId": scope.tenant, "projectId": "p", "backendProfile": "codex"}
            run = admin.post("/runs", json={**body, "sessionRef": {"sessionId": scope.session}}).json()
            scope.run = run["id"]
            command = admin.post(f"/runs/{scope.run}/commands", json={"type": "turn", "payload": {}})
            scope.command = command.json()["id"]
            task = {
                "tenantId": scope.tenant,
                "projectId": "p",
                "queue": scope.queue,
                "lane": "l",
                "priority": 1,
                "payload": {},
            }
            created = admin.post("/queue/tasks", json=task)
            assert created.status_code == 201, created.text
            scope.queue_task = created.json()["id"]
        # Workers: the matrix's own worker and admin principals each own one; "worker" owns the others.
        for role in ("m-worker", "m-admin"):
            own.workers[role] = _register(http, role, hibernating=True)
        other.workers["m-worker"] = other.workers["m-admin"] = _register(http, "worker", hibernating=True)
        infer_llm = _register(http, "worker", hibernating=False)[1][0]["name"]  # never bound: 503
        for scope in (own, other):
            for role, (worker_id, providers) in scope.workers.items():
                # A task for a hibernating LLM asks its worker to wake it.
                enqueued = http.post(
                    PREFIX + "/inference-tasks",
                    json={"llmName": providers[0]["name"], "request": {}},
                    headers=_auth("client"),
                )
                assert enqueued.status_code == 202, enqueued.text
                scope.wakes[role] = _wake_of(admin, worker_id)
        for scope, caller in ((own, "m-client"), (other, "client-b")):
            body = {"llmName": infer_llm, "request": {}}
            task = http.post(PREFIX + "/inference-tasks", json=body, headers=_auth(caller))
            assert task.status_code == 202, task.text
            scope.inference_task = task.json()["id"]
    return World(own, other, infer_llm)


def fill(template: Any, op_path: str, scope: Scope, role: str, world: World) -> Any:
    """The template with the scope's ids; a role's own worker and wake are its own."""
    who = f"m-{role}" if f"m-{role}" in scope.workers else "m-worker"
    worker_id, providers = scope.workers[who]
    if template == "{providers}":
        return providers
    if isinstance(template, dict):
        return {k: fill(v, op_path, scope, role, world) for k, v in template.items()}
    if not isinstance(template, str):
        return template
    task = scope.inference_task if op_path.startswith("/inference-tasks") else scope.queue_task
    values = {
        "{runId}": scope.run,
        "{aggregateId}": scope.run,
        "{commandId}": scope.command,
        "{sessionId}": scope.session,
        "{taskId}": task,
        "{workerId}": worker_id,
        "{wakeId}": scope.wakes[who],
        "{name}": world.infer_llm,
        "{queue}": f"{scope.queue}-none",  # a bulk cancel in the matrix matches nothing
    }
    for key, value in values.items():
        template = template.replace(key, value)
    return template


def expected(role: str, op: Op, scope_name: str) -> str:
    if role != "admin" and role not in op.roles:
        return "forbidden"
    if scope_name == "other":
        if op.kind == "inference" and role in SEES_ALL_INFERENCE:
            return "allowed"
        return "denied" if op.kind == "create" else "not-found"
    return "allowed"


def call(http: httpx.Client, method: str, path: str, op: Op, role: str, scope: Scope, world: World) -> int:
    url = PREFIX + fill(path, path, scope, role, world)
    headers = _auth(f"m-{role}")
    body = fill(op.body, path, scope, role, world)
    if op.kind == "create":
        body = {**body, "tenantId": scope.tenant}
    if op.stream:
        with http.stream(method, url, headers=headers) as response:
            return response.status_code
    response = http.request(method, url, headers=headers, json=body if method != "GET" else None)
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}, response.text
    return response.status_code


def check(status: int, outcome: str, op: Op) -> bool:
    if outcome == "forbidden":
        return status == 403
    if outcome == "not-found":
        return status == 404
    if outcome == "denied":
        return status in (403, 404)
    return status in op.allowed_statuses or (status < 500 and status not in (401, 403, 404))


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def test_the_table_covers_every_operation_of_the_openapi_description(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    operations = {
        (method.upper(), path[len(PREFIX) :])
        for path, item in spec["paths"].items()
        if path.startswith(PREFIX + "/")
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert operations - set(TABLE) == set(), "operations with no row in the role table"
    assert set(TABLE) - operations == set(), "rows of operations the API no longer has"


@pytest.fixture(scope="module")
def world(http: httpx.Client) -> World:
    return build_world(http)


def test_every_operation_answers_each_role_as_the_role_table_says(http: httpx.Client, world: World) -> None:
    wrong = []
    for (method, path), op in TABLE.items():
        scopes = [("own", world.own)] + ([("other", world.other)] if op.kind else [])
        for role in MATRIX_ROLES:
            for scope_name, scope in scopes:
                outcome = expected(role, op, scope_name)
                status = call(http, method, path, op, role, scope, world)
                if not check(status, outcome, op):
                    wrong.append(f"{method} {path} as {role} ({scope_name}): {status}, expected {outcome}")
    assert wrong == []


def test_lists_never_show_another_tenants_resources(http: httpx.Client, world: World) -> None:
    other = world.other
    for role in ("client", "operator", "runner", "auditor", "admin"):
        headers = _auth(f"m-{role}")
        for path, foreign in (
            ("/sessions?state=all", other.session),
            ("/queue/tasks", other.queue_task),
            ("/events?limit=500", other.run),
            ("/inference-tasks", other.inference_task),
        ):
            response = http.get(PREFIX + path, headers=headers)
            assert response.status_code in (200, 403), (path, role, response.text)
            if path == "/inference-tasks" and role in SEES_ALL_INFERENCE:
                continue  # operators and auditors see every caller's inference tasks
            assert foreign not in response.text, (path, role)
