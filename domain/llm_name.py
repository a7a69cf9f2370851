"""The LlmName aggregate: which worker owns an LLM name, taken by compare-and-set."""

from __future__ import annotations

from datetime import datetime

from domain.base import Aggregate
from domain.errors import ConflictError


def llm_name_aggregate_id(name: str) -> str:
    """LLM names are chosen by workers, so they live in their own namespace of the log."""
    return f"llm:{name}"


class NameTakenError(ConflictError):
    """The name belongs to another worker that still serves it."""


class LlmName(Aggregate):
    """One LLM name and its owner; two workers registering it at once race on its version."""

    class Claimed(Aggregate.Created):
        name: str
        worker_id: str

    @classmethod
    def claim(cls, name: str, worker_id: str, now: datetime) -> LlmName:
        return cls._create(
            cls.Claimed, id=llm_name_aggregate_id(name), timestamp=now, name=name, worker_id=worker_id
        )

    def __init__(self, name: str, worker_id: str) -> None:
        self.name = name
        self.worker_id = worker_id

    class TakenOver(Aggregate.Event):
        worker_id: str
        previous_worker_id: str

        def apply(self, llm: LlmName) -> None:
            llm.worker_id = self.worker_id

    def take_over(self, worker_id: str, owner_serves_it: bool, now: datetime) -> bool:
        """Move the name to `worker_id`; only when its owner no longer serves it (False: already ours)."""
        if self.worker_id == worker_id:
            return False
        if owner_serves_it:
            raise NameTakenError(f"llm {self.name} is served by another active worker", llmName=self.name)
        self._trigger(self.TakenOver, now, worker_id=worker_id, previous_worker_id=self.worker_id)
        return True
