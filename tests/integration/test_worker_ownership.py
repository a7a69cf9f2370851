"""A worker registered before owners existed is claimed by its first re-registration, then owned."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.access import Principal
from application.errors import NotFoundError
from domain.worker import Worker, worker_aggregate_id
from interfaces.bootstrap import Container

ALICE = Principal.of("alice", ["worker"], ["*"])
BOB = Principal.of("bob", ["worker"], ["*"])


def test_a_legacy_worker_is_nobodys_until_re_registered_and_then_its_claimants_alone(
    container: Container,
) -> None:
    providers = [{"name": "legacy-llm", "model": "m"}]
    legacy = Worker.register("legacy", providers, datetime.now(UTC))  # no owner, as stored before
    container.workers.store.save(legacy)

    with pytest.raises(NotFoundError):
        container.workers.heartbeat(ALICE, "legacy")
    container.workers.register(ALICE, "legacy", providers)
    container.workers.heartbeat(ALICE, "legacy")

    for act in (
        lambda: container.workers.register(BOB, "legacy", providers),
        lambda: container.workers.heartbeat(BOB, "legacy"),
        lambda: container.workers.bind(BOB, "legacy"),
        lambda: container.workers.update_state(BOB, "legacy", {"workerStatus": "x"}),
    ):
        with pytest.raises(NotFoundError):
            act()
    stored = container.workers.store.get(worker_aggregate_id("legacy"))
    assert isinstance(stored, Worker) and stored.owner == "alice" and stored.state == {}
