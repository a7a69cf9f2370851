"""The Runner aggregate: a process that claims runs and executes their commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.base import Aggregate
from domain.ids import new_id


def runner_aggregate_id(runner_id: str) -> str:
    """Runner ids may be chosen by runners, so they live in their own namespace of the log."""
    return f"runner:{runner_id}"


class Runner(Aggregate):
    """A registered runner with its labels."""

    class Created(Aggregate.Created):
        runner_id: str
        labels: dict[str, Any]

    @classmethod
    def register(cls, runner_id: str | None, labels: dict[str, Any], now: datetime) -> Runner:
        runner_id = runner_id or new_id("runner")
        return cls._create(
            cls.Created,
            id=runner_aggregate_id(runner_id),
            timestamp=now,
            runner_id=runner_id,
            labels=labels,
        )

    def __init__(self, runner_id: str, labels: dict[str, Any]) -> None:
        self.runner_id = runner_id
        self.labels = labels

    class Reregistered(Aggregate.Event):
        labels: dict[str, Any]

        def apply(self, runner: Runner) -> None:
            runner.labels = self.labels

    def reregister(self, labels: dict[str, Any], now: datetime) -> None:
        self._trigger(self.Reregistered, now, labels=labels)
