"""Saving: a retried commit that collides with its own first attempt is our write, not a lost race."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from domain.errors import ConcurrencyError
from domain.runner import Runner
from interfaces.bootstrap import Container

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_saving_events_the_store_already_holds_returns_their_positions(container: Container) -> None:
    runner = Runner.register("r-ambiguous", {"zone": "a"}, NOW)
    first_attempt = copy.deepcopy(runner)  # the same pending events, as a retried transaction has
    positions = container.log.save(runner)

    assert container.log.save(first_attempt) == positions
    assert [p for p, _ in container.log.aggregate_events(runner.id, 0, 10)] == positions


def test_other_events_at_the_same_versions_are_a_lost_race(container: Container) -> None:
    runner = Runner.register("r-race", {"zone": "a"}, NOW)
    rival = copy.deepcopy(runner)
    container.log.save(runner)
    rival.reregister({"zone": "b"}, NOW)
    runner.reregister({"zone": "c"}, NOW)
    container.log.save(runner)

    with pytest.raises(ConcurrencyError):
        container.log.save(rival)
    assert container.log.get(runner.id).labels == {"zone": "c"}
