"""Who did it, over HTTP: actors and request ids on /events, the tail, audit and the CLI tail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from httpx_sse import connect_sse

from tests.support.server import ROLE_TOKENS, Server, token_of, unique
from tests.support.tail import read_tail
from tests.support.waiting import wait_for
from tests.support.workers import ChannelClient, register

# This module's own server (`module_server`): a worker silent for 1 s goes inactive at the next
# sweep, the server's own event, by `system`; and its store holds only this module's writes.
MODULE_SERVER_ENV = {"AGENTRUN_SWEEP_INTERVAL": "0.2", "AGENTRUN_WORKER_TIMEOUT": "1"}


def who(item: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return item["type"], item["actor"], item["requestId"]


def test_a_run_created_and_cancelled_by_two_principals_names_each_everywhere(server: Server) -> None:
    client, operator, admin = (server.client(r) for r in ("client", "operator", "admin"))
    created_id = unique("req-create")
    body = {"tenantId": "tenant-a", "projectId": "proj", "backendProfile": "codex"}
    created = client.post("/runs", body, headers={"X-Request-Id": created_id})
    assert created.headers["x-request-id"] == created_id
    run_id = client.ok(created, 201)["id"]
    cancelled = operator.post(f"/runs/{run_id}/cancel", {"reason": "not needed"})
    operator.ok(cancelled)
    generated = cancelled.headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0

    events = admin.ok(admin.get("/events", aggregateId=run_id))["items"]
    types = [i["type"] for i in events]
    assert types[0] == "Run.Created" and "Run.Cancelled" in types
    # The cancel may record more than one event; all of them are the operator's, in its request.
    expected = [("Run.Created", "client-principal", created_id)]
    expected += [(t, "operator-principal", generated) for t in types[1:]]
    assert [who(i) for i in events] == expected
    tail = read_tail(server.base_url, len(expected), params={"aggregateId": run_id})
    assert [who(f.data) for f in tail.frames] == expected
    history = admin.ok(admin.get(f"/audit/{run_id}"))["history"]
    assert [who(h) for h in history] == expected
    cli_tail = cli(server, "events", "tail", "--json", "--aggregate-id", run_id)
    assert [who(i) for i in cli_tail] == expected


def test_the_request_id_is_echoed_on_errors_streams_and_unauthenticated_answers(server: Server) -> None:
    admin = server.client("admin")
    given = unique("req")
    missing = admin.http.get("/runs/run_missing", headers={"X-Request-Id": given})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == given
    anonymous = httpx.get(server.base_url + "/api/v1/events", headers={"X-Request-Id": given})
    assert anonymous.status_code == 401 and anonymous.headers["x-request-id"] == given
    insane = admin.http.get("/events", params={"limit": 1}, headers={"X-Request-Id": "x" * 129})
    assert insane.status_code == 200 and len(insane.headers["x-request-id"]) == 32
    health = httpx.get(server.base_url + "/healthz")
    assert len(health.headers["x-request-id"]) == 32
    headers = {"Authorization": f"Bearer {token_of('admin')}", "X-Request-Id": given}
    with (
        httpx.Client(base_url=server.base_url + "/api/v1", headers=headers, timeout=5) as http,
        connect_sse(http, "GET", "/events/stream", params={"after": 0}) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["x-request-id"] == given


def test_a_sweep_records_the_system_as_its_actor(module_server: Server) -> None:
    worker_id, _ = register(module_server)
    admin = module_server.client("admin")
    aggregate = f"worker:{worker_id}"

    def events() -> list[dict[str, Any]]:
        return list(admin.ok(admin.get("/events", aggregateId=aggregate))["items"])

    assert wait_for(lambda: any(i["type"] == "Worker.WentInactive" for i in events()), 15, every=0.2)
    items = events()
    by_type = {i["type"]: i for i in items}
    assert who(by_type["Worker.WentInactive"]) == ("Worker.WentInactive", "system", None)
    assert items[0]["actor"] == "worker-principal"  # registered over HTTP by the worker


def test_a_worker_channel_claims_as_the_worker_and_an_enqueue_as_its_client(server: Server) -> None:
    # Both saves go through the group commit; the claim is made by the channel's SSE response.
    worker_id, llm = register(server)
    client, admin = server.client("client"), server.client("admin")
    given = unique("req-enqueue")
    body = {"llmName": llm, "request": {"messages": [{"role": "user", "content": "hi"}]}}
    task = client.ok(client.post("/inference-tasks", body, headers={"X-Request-Id": given}), 202)
    channel = ChannelClient(server, worker_id).start()
    try:
        channel.tasks(1)
    finally:
        channel.close()
    items = admin.ok(admin.get("/events", aggregateId=task["id"]))["items"]
    actors = {i["type"].rsplit(".", 1)[1]: (i["actor"], i["requestId"]) for i in items}
    assert actors["Created"] == ("client-principal", given)
    assert actors["Claimed"][0] == "worker-principal" and actors["Claimed"][1] not in (None, given)


def test_no_token_is_ever_stored(module_server: Server) -> None:
    # Writes by several principals, each with its own token: a client, an operator, a worker.
    api, operator = module_server.client("client"), module_server.client("operator")
    run = api.create_run()
    operator.ok(operator.post(f"/runs/{run['id']}/cancel", {"reason": "not needed"}))
    register(module_server)
    tokens = [token_of(role).encode() for role in ROLE_TOKENS]
    stored = stored_bytes(module_server)
    for principal in (b"client-principal", b"operator-principal", b"worker-principal"):
        assert principal in stored, "the scan reads what the server stored"
    assert not [t for t in tokens if t in stored]


def cli(server: Server, *args: str) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "AGENTRUN_"))}
    env["AGENTRUN_DATA_DIR"] = str(server.data_dir)
    if server.database_url:
        env["DATABASE_URL"] = server.database_url
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", *args],
        env=env, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return [orjson.loads(line) for line in done.stdout.splitlines()]


def stored_bytes(server: Server) -> bytes:
    """Everything the server stored: its data dir's files, and on PostgreSQL every table's rows."""
    files = b"".join(p.read_bytes() for p in Path(server.data_dir).rglob("*") if p.is_file())
    if server.database_url is None:
        return files
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
            "FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
        ).fetchall()
        values = [v for (name,) in tables for row in conn.execute(f"SELECT * FROM {name}") for v in row]
    # bytea (the events' state) as its bytes, anything else as its text.
    return files + b"\n".join(v if isinstance(v, bytes) else str(v).encode() for v in values)
