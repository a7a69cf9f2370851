"""The pieces of the projection failure policy that need no database (ADR 0031)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.backends import BackendUseCases
from application.base import UseCases
from application.inference_tasks import InferenceTaskUseCases
from application.queue_tasks import QueueTaskUseCases
from application.sessions import SessionUseCases
from application.workers import WorkerUseCases
from domain.errors import SchemaInvalidError
from domain.projection_skip import ProjectionSkip, projection_skip_id
from infrastructure.projection_runner import Undecodable, fold
from interfaces.bootstrap import all_projections
from projections.queue_tasks import QueueTasks
from projections.session_summaries import SessionSummaries

READERS: list[type[UseCases]] = [
    BackendUseCases,
    InferenceTaskUseCases,
    QueueTaskUseCases,
    SessionUseCases,
    WorkerUseCases,
]


@pytest.mark.parametrize("use_cases", READERS, ids=lambda c: c.__name__)
def test_every_reading_use_case_names_real_projections(use_cases: type[UseCases]) -> None:
    names = {p.name for p in all_projections()}
    assert use_cases.reads and set(use_cases.reads) <= names


def test_an_undecodable_event_poisons_only_the_projections_folding_its_type() -> None:
    broken = Undecodable("domain.queue_task_reads:QueueTaskReads.ReadMarked", ValueError("bad upcast"))
    with pytest.raises(ValueError, match="bad upcast"):
        fold(QueueTasks(), None, broken, 7)
    fold(SessionSummaries(), None, broken, 7)  # does not fold read marks of queue tasks: no error


def test_a_skip_names_its_projection_position_and_reason() -> None:
    now = datetime.now(UTC)
    skip = ProjectionSkip.record("queue_tasks", 42, "  lost reader ", now, "QueueTaskReads.ReadMarked")
    assert skip.id == projection_skip_id("queue_tasks", 42) == "projection-skip:queue_tasks:42"
    assert (skip.projection, skip.position, skip.reason) == ("queue_tasks", 42, "lost reader")
    for projection, position, reason in [("", 1, "r"), ("queue_tasks", 0, "r"), ("queue_tasks", 1, " ")]:
        with pytest.raises(SchemaInvalidError):
            ProjectionSkip.record(projection, position, reason, now)
