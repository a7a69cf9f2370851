"""The real server in a subprocess (uvicorn on a free port), and an HTTP client for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

MATRIX_ROLES = ("client", "operator", "runner", "worker", "auditor", "admin")
ROLE_TOKENS: dict[str, dict[str, Any]] = {
    "admin": {"roles": ["admin"], "tenants": ["*"]},
    "client": {"roles": ["client"], "tenants": ["tenant-a"]},
    "client-b": {"roles": ["client"], "tenants": ["tenant-b"]},
    "runner": {"roles": ["runner"], "tenants": ["*"]},
    "operator": {"roles": ["operator"], "tenants": ["tenant-a"]},
    "auditor": {"roles": ["auditor"], "tenants": ["tenant-a"]},
    "worker": {"roles": ["worker"], "tenants": ["*"]},
    # The role matrix (tests/e2e/test_role_matrix.py): one principal per role, all of tenant-a only.
    **{f"m-{role}": {"roles": [role], "tenants": ["tenant-a"]} for role in MATRIX_ROLES},
}


TEST_POOL_SIZE = 2


def token_of(role: str) -> str:
    return f"test-token-{role}"


def api_tokens_json() -> str:
    entries = [
        {"token": token_of(role), "principal": f"{role}-principal", **spec}
        for role, spec in ROLE_TOKENS.items()
    ]
    return orjson.dumps(entries).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Server:
    """A running `agentrun serve` process."""

    backend: str
    data_dir: Path
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    # `serve --workers`: server processes behind the one port, each a replica (PostgreSQL only).
    workers: int = 1
    # AGENTRUN_POOL_SIZE; None leaves the service's own default (what a benchmark measures).
    pool_size: int | None = TEST_POOL_SIZE
    # `serve --log-level`: info writes the request lines (tests read them); a benchmark may drop them.
    log_level: str = "info"
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "AGENTRUN_"))}
        env.update(AGENTRUN_DATA_DIR=str(self.data_dir), AGENTRUN_API_TOKENS=api_tokens_json())
        # Small pools: many test servers share one PostgreSQL (max_connections=100) across xdist
        # workers; a server holds up to 6x this plus 4 (ADR 0041). A test may set its own.
        if self.pool_size is not None:
            env["AGENTRUN_POOL_SIZE"] = str(self.pool_size)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> Server:
        log = open(self.data_dir / f"server-{self.port}.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "interfaces.cli",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                self.log_level,
                "--workers",
                str(self.workers),
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {log.name}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self, role: str = "admin") -> Api:
        return Api(self.base_url, token_of(role) if role else None)


class Api:
    """An HTTP client speaking to /api/v1 with one role's token."""

    def __init__(self, base_url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url + "/api/v1", headers=headers, timeout=30)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json=body if body is not None else {}, **kwargs)

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, (response.status_code, response.text)
        return response.json()

    def create_run(
        self, tenant: str = "tenant-a", session_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "tenantId": tenant,
            "projectId": "proj",
            "backendProfile": "codex",
            **extra,
        }
        if session_id:
            body["sessionRef"] = {"sessionId": session_id, **body.pop("sessionRefExtra", {})}
        return self.ok(self.post("/runs", body), 201)


def error_kind(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"kind", "message", "details"}, body
    return str(body["error"]["kind"])
