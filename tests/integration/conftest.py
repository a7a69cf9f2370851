"""Integration fixtures beside tests/conftest.py: datasets built once per process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.datasets import Datasets


@pytest.fixture(scope="session")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Datasets]:
    """Read-only views datasets shared by the tests of this process (see tests/support/datasets.py)."""
    built = Datasets(tmp_path_factory.mktemp("datasets"))
    yield built
    built.close()
