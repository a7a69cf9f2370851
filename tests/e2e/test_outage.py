"""When PostgreSQL goes away the server answers 503 `unavailable`, never a bare 500."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg

from tests.support.postgres import ADMIN_URL, throwaway_database
from tests.support.server import Server, error_kind


def test_lost_database_answers_unavailable_and_health_says_why(tmp_path: Path) -> None:
    with throwaway_database() as url:
        server = Server("postgres", tmp_path, database_url=url).start()
        try:
            api = server.client("admin")
            run = api.create_run()
            name = url.rsplit("/", 1)[1]
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

            # The store retries for a while (a restart is usually brief) before it gives up.
            api.http.timeout = httpx.Timeout(90)
            response = api.get(f"/runs/{run['id']}")
            assert response.status_code == 503
            assert error_kind(response) == "unavailable"

            health = httpx.get(server.base_url + "/healthz", timeout=30)
            assert health.status_code == 503
            body = health.json()
            assert body["ready"] is False and body["reachable"] is False
            assert body["failureKind"] == "database-unreachable"
            assert "postgres" not in (body["message"] or "").lower()
        finally:
            server.stop()
