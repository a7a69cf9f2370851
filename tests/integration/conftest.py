"""Integration fixtures beside tests/conftest.py: datasets built once per process, a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.support.clock import ManualClock
from tests.support.datasets import Datasets


@pytest.fixture(scope="session")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Datasets]:
    """Read-only views datasets shared by the tests of this process (see tests/support/datasets.py)."""
    built = Datasets(tmp_path_factory.mktemp("datasets"))
    yield built
    built.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clocked(settings: Settings, clock: ManualClock) -> Iterator[Container]:
    """A started container whose use cases read the time from `clock`."""
    c = Container(settings, clock=clock)
    c.start()
    yield c
    c.close()
