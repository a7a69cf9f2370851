"""End-to-end fixtures: one API client per role on the shared server, the Python client, own servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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


class BackendServers:
    """A module's own servers, one per backend, each started when a test first asks for it.

    Use with a module-scoped fixture and pick by the function-scoped `backend` parameter: unlike a
    module-scoped parametrized fixture, a test of the other backend in between (tests spread over
    xdist workers, or the shared `server`'s parameter order) never stops and restarts one.
    """

    def __init__(
        self, stack: ExitStack, tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str]
    ) -> None:
        self._stack, self._factory, self._name, self._env = stack, tmp_path_factory, name, env
        self._servers: dict[str, Server] = {}

    def __getitem__(self, backend: str) -> Server:
        if backend not in self._servers:
            data_dir = self._factory.mktemp(f"{self._name}-{backend}")
            url = self._stack.enter_context(throwaway_database()) if backend == "postgres" else None
            srv = Server(backend, data_dir, database_url=url, extra_env=dict(self._env)).start()
            self._stack.callback(srv.stop)  # before its database is dropped
            self._servers[backend] = srv
        return self._servers[backend]


@contextmanager
def backend_servers(
    tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str] | None = None
) -> Iterator[BackendServers]:
    """`BackendServers` for a module fixture; every server started is stopped on leaving."""
    with ExitStack() as stack:
        yield BackendServers(stack, tmp_path_factory, name, env or {})


@pytest.fixture(scope="module")
def module_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackendServers]:
    """The module's own servers (`module_server`), with the module's `MODULE_SERVER_ENV` if it sets one."""
    env = getattr(request.module, "MODULE_SERVER_ENV", {})
    with backend_servers(tmp_path_factory, request.module.__name__.rsplit(".", 1)[-1], env) as servers:
        yield servers


@pytest.fixture
def module_server(module_servers: BackendServers, backend: str) -> Server:
    """A server of this module's own on the test's backend, shared by the module's tests.

    For tests that need a setting of their own or a store no other module writes to, but not a
    fresh server each (that is `own_server`).
    """
    return module_servers[backend]
