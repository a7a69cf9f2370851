"""Console sessions over HTTP: login, the cookie on every API route, CSRF, logout, `/` and `/ui`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from tests.support.server import Server, error_kind, token_of, unique


def login(server: Server, role: str) -> tuple[httpx.Client, dict[str, Any]]:
    """A cookie-carrying client (no Authorization header) logged in as the role."""
    http = httpx.Client(base_url=server.base_url, timeout=30)
    response = http.post("/ui/login", json={"token": token_of(role)})
    assert response.status_code == 200, response.text
    return http, response.json()


def test_login_answers_the_principal_and_sets_a_strict_http_only_cookie_without_the_token(
    server: Server,
) -> None:
    response = httpx.post(server.base_url + "/ui/login", json={"token": token_of("operator")})
    assert response.status_code == 200
    body = response.json()
    assert body["principal"] == "operator-principal"
    assert body["roles"] == ["operator"] and body["tenants"] == ["tenant-a"]
    assert len(body["csrf"]) >= 32 and body["expiresAt"].endswith("Z")
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()
    assert token_of("operator") not in cookie and token_of("operator") not in response.text


def test_a_bad_token_is_401_in_the_envelope(server: Server) -> None:
    response = httpx.post(server.base_url + "/ui/login", json={"token": "not-a-token"})
    assert response.status_code == 401 and error_kind(response) == "unauthorized"
    assert "set-cookie" not in response.headers
    assert error_kind(httpx.post(server.base_url + "/ui/login", json={})) == "schema-invalid"
    # A cross-site form can send text/plain that parses as JSON: refused.
    form = httpx.post(
        server.base_url + "/ui/login",
        content=f'{{"token":"{token_of("admin")}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert form.status_code == 422 and "set-cookie" not in form.headers


def test_the_cookie_reads_api_routes_and_writes_only_with_the_csrf_header(server: Server) -> None:
    http, session = login(server, "client")
    session_id = unique("sess")
    body = {
        "tenantId": "tenant-a",
        "projectId": "p",
        "backendProfile": "codex",
        "sessionRef": {"sessionId": session_id},
    }
    missing = http.post("/api/v1/runs", json=body)
    assert missing.status_code == 403 and error_kind(missing) == "forbidden"
    wrong = http.post("/api/v1/runs", json=body, headers={"X-Agentrun-CSRF": "x" * 43})
    assert wrong.status_code == 403
    run = http.post("/api/v1/runs", json=body, headers={"X-Agentrun-CSRF": session["csrf"]})
    assert run.status_code == 201, run.text
    got = http.get(f"/api/v1/sessions/{session_id}", params={"minPosition": run.json()["position"]})
    assert got.status_code == 200 and got.json()["tenantId"] == "tenant-a"
    # The same session gets its CSRF value back after a reload of the page.
    assert http.get("/ui/session").json()["csrf"] == session["csrf"]


def test_logout_ends_the_session_for_every_route(server: Server) -> None:
    http, session = login(server, "auditor")
    assert http.get("/api/v1/projections").status_code == 200
    assert http.post("/ui/logout").status_code == 403  # logging out is a write: CSRF too
    response = http.post("/ui/logout", headers={"X-Agentrun-CSRF": session["csrf"]})
    assert response.status_code == 204
    http.cookies.clear()
    http.cookies.set("agentrun_session", response.request.headers["cookie"].split("=", 1)[1])
    after = http.get("/api/v1/projections")
    assert after.status_code == 401 and error_kind(after) == "unauthorized"
    assert http.get("/ui/session").status_code == 401


def test_a_forged_action_by_an_auditor_session_is_forbidden(server: Server) -> None:
    admin = server.client("admin")
    run = admin.create_run(session_id=unique("sess"))
    http, session = login(server, "auditor")
    response = http.post(
        f"/api/v1/runs/{run['id']}/cancel", json={}, headers={"X-Agentrun-CSRF": session["csrf"]}
    )
    assert response.status_code == 403 and error_kind(response) == "forbidden"


def test_a_session_of_another_tenant_never_sees_tenant_a(server: Server) -> None:
    admin = server.client("admin")
    session_id = unique("sess")
    run = admin.create_run(session_id=session_id)
    http, _ = login(server, "client-b")
    hidden = http.get(f"/api/v1/sessions/{session_id}", params={"minPosition": run["position"]})
    assert hidden.status_code == 404 and error_kind(hidden) == "not-found"
    listed = http.get("/api/v1/sessions", params={"state": "all", "limit": 100}).json()["items"]
    assert all(item["tenantId"] == "tenant-b" for item in listed)


def test_the_event_tail_follows_with_the_cookie(server: Server) -> None:
    admin = server.client("admin")
    run = admin.create_run(session_id=unique("sess"))
    http, _ = login(server, "admin")
    params = {"after": max(0, run["position"] - 10), "aggregateId": run["id"]}
    with connect_sse(http, "GET", "/api/v1/events/stream", params=params) as source:
        assert source.response.status_code == 200
        first = next(e for e in source.iter_sse() if e.id)
    assert first.event == "Run.Created" and int(first.id) <= run["position"]


def test_session_counts_match_the_lists(server: Server) -> None:
    http, _ = login(server, "client-b")
    reader = unique("reader")
    counts = http.get("/api/v1/sessions/counts", params={"readerId": reader}).json()
    client = server.client("client-b")
    created = [client.create_run(tenant="tenant-b", session_id=unique("sess")) for _ in range(2)]
    position = created[-1]["position"]
    client.ok(client.post(f"/sessions/{created[0]['sessionRef']['sessionId']}/read", {"readerId": reader}))
    after = http.get("/api/v1/sessions/counts", params={"readerId": reader, "minPosition": position}).json()
    assert after["all"] == counts["all"] + 2
    assert after["idle"] == counts["idle"] + 2
    assert after["unread"] == counts["unread"] + 1
    for state in ("unread", "idle", "all"):
        items = http.get("/api/v1/sessions", params={"state": state, "readerId": reader, "limit": 100}).json()
        assert len(items["items"]) == after[state] or items["nextCursor"] is not None


def test_bulk_cancel_cancels_every_match_beyond_one_page(server: Server) -> None:
    admin = server.client("admin")
    queue = unique("q")
    for i in range(105):
        admin.ok(
            admin.post(
                "/queue/tasks",
                {
                    "tenantId": "tenant-a",
                    "projectId": "p",
                    "queue": queue,
                    "lane": "l",
                    "priority": i % 3,
                    "payload": {},
                },
            ),
            201,
        )
    auditor, session = login(server, "auditor")
    denied = auditor.post(
        "/api/v1/queue/tasks:cancel", json={"queue": queue}, headers={"X-Agentrun-CSRF": session["csrf"]}
    )
    assert denied.status_code == 403
    result = admin.ok(admin.post("/queue/tasks:cancel", {"queue": queue, "state": "pending"}))
    assert result["matched"] == 105 and result["cancelled"] == 105
    stats = admin.ok(admin.get("/queue/stats", queue=queue, minPosition=result["position"]))
    assert stats["byState"].get("cancelled") == 105 and not stats["byState"].get("pending")


@pytest.mark.parametrize("accept", ["text/html,application/xhtml+xml", "application/json"])
def test_root_sends_browsers_to_the_console_and_api_clients_get_json(server: Server, accept: str) -> None:
    response = httpx.get(server.base_url + "/", headers={"Accept": accept})
    if accept.startswith("text/html"):
        assert response.status_code == 303 and response.headers["location"] == "/ui"
        page = httpx.get(server.base_url + "/ui")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert httpx.get(server.base_url + "/ui/static/app.js").status_code == 200
    else:
        assert response.status_code == 404 and error_kind(response) == "not-found"


def test_workers_show_their_last_heartbeat(server: Server) -> None:
    worker, operator = server.client("worker"), server.client("admin")
    worker_id = unique("w")
    worker.ok(
        worker.post("/workers", {"workerId": worker_id, "providers": [{"name": unique("llm"), "model": "m"}]})
    )
    assert worker.post(f"/workers/{worker_id}/heartbeat").status_code == 204
    shown = operator.ok(operator.get(f"/workers/{worker_id}"))
    assert shown["lastHeartbeatAt"] is not None and shown["lastHeartbeatAt"].endswith("Z")
    listed = {w["workerId"]: w for w in operator.ok(operator.get("/workers"))["items"]}
    assert listed[worker_id]["lastHeartbeatAt"] == shown["lastHeartbeatAt"]
