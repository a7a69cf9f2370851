"""Fixtures: every integration and end-to-end test runs on SQLite and on PostgreSQL.

Markers are set here from the layout, so a file need not repeat them: `unit`, `integration` and `e2e`
by folder, `postgres` on every test that runs on PostgreSQL (a `postgres` backend or server
parameter, or marked so by hand), `slow` by hand on load and outage tests. CI runs them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.support.postgres import throwaway_database
from tests.support.server import TEST_POOL_SIZE, Server
from tests.support.tls import share_default_tls_context
from tests.support.verify import verify_views

share_default_tls_context()

BACKENDS = ["sqlite", "postgres"]
LAYERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = Path(str(item.path)).parent.name
        if layer in LAYERS:
            item.add_marker(getattr(pytest.mark, layer))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgres" in params.values():
            item.add_marker(pytest.mark.postgres)
    # Which worker runs what is `tests/support/xdist_groups.py`'s: a file on one worker (its
    # module-scoped servers start once), the files of `xdist_group("heavy-a")`, and of `("heavy-b")`,
    # on one worker each, one at a time.


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh store: an empty SQLite dir, or a throwaway PostgreSQL database."""
    # A small pool, as for test servers: the tests share one PostgreSQL across xdist workers.
    pool = TEST_POOL_SIZE
    if backend == "sqlite":
        yield Settings(AGENTRUN_DATA_DIR=tmp_path, AGENTRUN_AUTH="disabled", AGENTRUN_POOL_SIZE=pool)
        return
    with throwaway_database() as url:
        yield Settings(
            DATABASE_URL=url, AGENTRUN_DATA_DIR=tmp_path, AGENTRUN_AUTH="disabled", AGENTRUN_POOL_SIZE=pool
        )


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """A started container (projection runner and listener running) over a fresh store."""
    c = Container(settings)
    c.start()
    yield c
    c.close()


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per backend (per xdist worker) for the run; tests isolate by unique ids.

    When the last test using it is done, its views must equal a rebuild from the log (the real
    `projections rebuild --verify`): whatever load the suite put on it, in whatever order.
    """
    data_dir = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        srv = Server("sqlite", data_dir).start()
        yield srv
        _stop_and_verify(srv)
        return
    with throwaway_database() as url:
        srv = Server("postgres", data_dir, database_url=url).start()
        yield srv
        _stop_and_verify(srv)


def _stop_and_verify(srv: Server) -> None:
    srv.stop()
    result = verify_views(srv)
    assert result.returncode == 0 and "views match the rebuild" in result.stdout, (
        f"the shared {srv.backend} server's views differ from a rebuild:\n"
        + result.stdout
        + result.stderr[-3000:]
    )
