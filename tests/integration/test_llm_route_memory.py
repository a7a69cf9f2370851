"""An enqueue routes by the LLM row it read last while the registry view has not changed since, on
the process that folds the views; a change of the registry, or another folder, means a read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from application.access import SYSTEM, Principal
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

CLIENT = Principal.of("alice", ["client"], ["*"])


def enqueue(c: Container) -> dict[str, Any]:
    return c.inference_tasks.enqueue(
        CLIENT, llm_name="llm-a", request={}, stream=False, agent_id=None, fail_fast=False
    )


class CountedReads:
    """The views' reads of a container, counted (the reads themselves are the real ones)."""

    def __init__(self, c: Container, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        read = c.views.read

        def counted() -> AbstractContextManager[Any]:
            self.count += 1
            return read()

        monkeypatch.setattr(c.views, "read", counted)


@pytest.fixture
def folding(container: Container) -> Iterator[Container]:
    container.workers.register(SYSTEM, "w1", [{"name": "llm-a", "model": "m1"}])
    assert container.views.wait_for(None, timeout=10)
    yield container


def test_a_second_enqueue_routes_without_a_read_until_the_registry_changes(
    folding: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = CountedReads(folding, monkeypatch)
    assert enqueue(folding)["model"] == "m1"
    assert enqueue(folding)["model"] == "m1"
    assert reads.count == 1

    folding.workers.register(SYSTEM, "w1", [{"name": "llm-a", "model": "m2"}])
    assert folding.views.wait_for(None, timeout=10)
    assert enqueue(folding)["model"] == "m2"  # the view changed: read again
    assert reads.count == 2


def test_a_process_that_does_not_fold_reads_each_time(
    folding: Container, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Container(settings)  # not started: its runner folds nothing, the views are another's
    try:
        reads = CountedReads(other, monkeypatch)
        assert enqueue(other)["model"] == "m1"
        assert enqueue(other)["model"] == "m1"
        assert reads.count == 2
    finally:
        other.close()
