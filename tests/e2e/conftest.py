"""End-to-end fixtures: one API client per role on the shared server, the Python client, own servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from interfaces.client import AgentRunClient
from tests.support.postgres import throwaway_database
from tests.support.server import Api, Server, token_of

Connect = Callable[[str], AgentRunClient]


@pytest.fixture
def admin(server: Server) -> Api:
    return server.client("admin")


@pytest.fixture
def client(server: Server) -> Api:
    return server.client("client")


@pytest.fixture
def runner(server: Server) -> Api:
    return server.client("runner")


@pytest.fixture
def operator(server: Server) -> Api:
    return server.client("operator")


@pytest.fixture
def worker_api(server: Server) -> Api:
    return server.client("worker")


@pytest.fixture
def connect(server: Server) -> Iterator[Connect]:
    """Opens the Python client with a role's token (`""`: no token); closes them all afterwards."""
    opened: list[AgentRunClient] = []

    def open_client(role: str) -> AgentRunClient:
        opened.append(AgentRunClient(server.base_url, token_of(role) if role else None, timeout=10))
        return opened[-1]

    yield open_client
    for c in opened:
        c.close()


@pytest.fixture
def own_server(backend: str, tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, for a test that restarts or disturbs it."""
    if backend == "sqlite":
        srv = Server("sqlite", tmp_path).start()
        yield srv
        srv.stop()
        return
    with throwaway_database() as url:
        srv = Server("postgres", tmp_path, database_url=url).start()
        yield srv
        srv.stop()
