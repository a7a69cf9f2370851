"""The server's log (ADR 0040): one JSON line per request, and never a token or a redacted value."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from interfaces.http.auth import SESSION_COOKIE
from tests.support.server import ROLE_TOKENS, Api, Server, token_of, unique
from tests.support.waiting import wait_for


def log_path(server: Server) -> Path:
    return server.data_dir / f"server-{server.port}.log"


def json_lines(server: Server) -> list[dict[str, Any]]:
    lines = log_path(server).read_text(errors="replace").splitlines()
    return [orjson.loads(line) for line in lines if line.startswith("{")]


def line_of(server: Server, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The request's line; it is written once the response is over, so it may trail the answer."""

    def found() -> list[dict[str, Any]]:
        return [
            line
            for line in json_lines(server)
            if line.get("logger") == "agentrun.request" and line.get("requestId") == request_id
        ]

    wait_for(found, timeout)
    lines = found()
    assert len(lines) == 1, f"{len(lines)} request lines for {request_id}"
    return lines[0]


def test_a_request_logs_one_json_line_with_its_route_status_and_id(admin: Api, server: Server) -> None:
    run = admin.create_run(session_id=unique("sess"))
    request_id = f"log-{uuid.uuid4().hex}"
    got = admin.http.get(f"/runs/{run['id']}", headers={"X-Request-Id": request_id})
    assert got.status_code == 200 and got.headers["x-request-id"] == request_id
    line = line_of(server, request_id)
    assert line["method"] == "GET" and line["route"] == "/api/v1/runs/{runId}"
    assert line["status"] == 200 and line["principal"] == "admin-principal"
    assert isinstance(line["ms"], float | int) and line["ms"] >= 0
    assert line["level"] == "info" and line["ts"].endswith("Z")
    assert run["id"] not in orjson.dumps(line).decode()  # the template, never the path

    missing = f"log-{uuid.uuid4().hex}"
    absent = admin.http.get("/runs/no-such-run", headers={"X-Request-Id": missing})
    assert absent.status_code == 404
    assert line_of(server, missing)["status"] == 404
    anonymous = f"log-{uuid.uuid4().hex}"
    refused = httpx.get(server.base_url + "/api/v1/projections", headers={"X-Request-Id": anonymous})
    assert refused.status_code == 401
    unauthenticated = line_of(server, anonymous)
    assert unauthenticated["status"] == 401 and unauthenticated["principal"] is None


def test_no_token_cookie_or_redacted_value_reaches_the_log(admin: Api, server: Server) -> None:
    secret = f"hunter2-{uuid.uuid4().hex}"
    api_key = f"sk-{uuid.uuid4().hex}"
    run = admin.create_run(session_id=unique("sess"))
    admin.ok(admin.post(f"/runs/{run['id']}/claim", {"runnerId": unique("runner"), "leaseMs": 60_000}))
    payload = {"password": secret, "apiKey": api_key, "nested": {"Password": secret}}
    admin.ok(admin.post(f"/runs/{run['id']}/events", {"type": "tool_call", "payload": payload}), 201)
    command = {"type": "turn", "payload": {"prompt": "hi", "apiKey": api_key}}
    admin.ok(admin.post(f"/runs/{run['id']}/commands", command), 201)
    # A refused body that carries the secret: its error is logged by nobody either.
    assert admin.post("/runs", {"tenantId": 5, "password": secret}).status_code == 422

    login = httpx.post(server.base_url + "/ui/login", json={"token": token_of("operator")})
    assert login.status_code == 200
    cookie = login.cookies[SESSION_COOKIE]
    last = f"log-{uuid.uuid4().hex}"
    with httpx.Client(base_url=server.base_url, cookies={SESSION_COOKIE: cookie}) as browser:
        assert browser.get("/api/v1/projections", headers={"X-Request-Id": last}).status_code == 200
    assert line_of(server, last)["principal"] == "operator-principal"  # every line before it is written

    text = log_path(server).read_text(errors="replace")
    tokens = [token_of(role) for role in ROLE_TOKENS]
    for value in [secret, api_key, cookie, *tokens]:
        assert value not in text, f"{value[:12]}… reached the server's log"
