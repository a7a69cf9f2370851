"""The server answers health and describes itself, on both backends."""

from __future__ import annotations

import httpx

from tests.support.server import Server, error_kind


def test_health_reports_adapter_and_readiness(server: Server) -> None:
    response = httpx.get(server.base_url + "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "adapter": server.backend,
        "ready": True,
        "reachable": True,
        "migrationReady": True,
        "failureKind": None,
        "message": None,
    }


def test_api_routes_need_a_token(server: Server) -> None:
    anonymous = server.client(role="")
    response = anonymous.get("/runs/run_x")
    assert response.status_code == 401
    assert error_kind(response) == "unauthorized"
    wrong = httpx.get(server.base_url + "/api/v1/sessions", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_openapi_describes_every_route(server: Server) -> None:
    spec = httpx.get(server.base_url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "post" in spec["paths"]["/api/v1/runs"]
    assert "/api/v1/sessions/{sessionId}/read" in spec["paths"]
    assert "CreateRun" in spec["components"]["schemas"]


def test_metrics_count_requests_by_route_template(server: Server) -> None:
    api = server.client("admin")
    run = api.create_run()
    api.ok(api.get(f"/runs/{run['id']}"))
    text = httpx.get(server.base_url + "/metrics").text
    assert 'route="/api/v1/runs/{runId}"' in text
    assert "agentrun_log_head_position" in text
    assert 'agentrun_projection_lag{name="session_summaries"}' in text
