"""Fixtures: every integration and end-to-end test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.support.postgres import throwaway_database
from tests.support.server import Server

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh store: an empty SQLite dir, or a throwaway PostgreSQL database."""
    if backend == "sqlite":
        yield Settings(AGENTRUN_DATA_DIR=tmp_path, AGENTRUN_AUTH="disabled")
        return
    with throwaway_database() as url:
        yield Settings(DATABASE_URL=url, AGENTRUN_DATA_DIR=tmp_path, AGENTRUN_AUTH="disabled")


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """A started container (projection runner and listener running) over a fresh store."""
    c = Container(settings)
    c.start()
    yield c
    c.close()


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per backend for the whole run; tests isolate by unique ids."""
    data_dir = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        srv = Server("sqlite", data_dir).start()
        yield srv
        srv.stop()
        return
    with throwaway_database() as url:
        srv = Server("postgres", data_dir, database_url=url).start()
        yield srv
        srv.stop()
