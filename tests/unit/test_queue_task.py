"""The QueueTask aggregate: ids from idempotency keys, attempts, cancellation, and read marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import IdempotencyConflictError, SchemaInvalidError, TerminalStateError
from domain.hashing import payload_hash
from domain.queue_task import QUEUE_TASK_STATES, QueueTask, queue_task_id
from domain.queue_task_reads import QueueTaskReads, queue_task_reads_id

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_task(**overrides: Any) -> QueueTask:
    payload = overrides.pop("payload", {"job": "build"})
    fields: dict[str, Any] = {
        "task_id": "qt_1",
        "tenant_id": "acme",
        "project_id": "web",
        "queue": "builds",
        "lane": "fast",
        "priority": 5,
        "payload": payload,
        "payload_hash": payload_hash(payload),
        "idempotency_key": None,
        "now": T0,
        **overrides,
    }
    return QueueTask.create(**fields)


def test_a_new_task_is_pending_with_no_attempt() -> None:
    task = new_task()

    assert (task.state, task.latest_attempt, task.session_path, task.attempts) == ("pending", None, None, 0)
    assert (task.queue, task.lane, task.priority, task.version) == ("builds", "fast", 5, 1)
    assert task.created_at == T0 and not task.is_terminal


def test_one_idempotency_key_in_one_project_names_one_task() -> None:
    first = queue_task_id("acme", "web", "key-1")

    assert queue_task_id("acme", "web", "key-1") == first
    assert queue_task_id("acme", "api", "key-1") != first
    assert queue_task_id("other", "web", "key-1") != first
    assert queue_task_id("acme", "web", None) != queue_task_id("acme", "web", None)


def test_a_repeat_with_another_payload_lane_or_priority_conflicts() -> None:
    task = new_task(idempotency_key="key-1")
    digest = payload_hash({"job": "build"})

    task.check_same_request("builds", "fast", 5, digest)
    for request in (
        ("builds", "fast", 5, payload_hash({"job": "deploy"})),
        ("builds", "slow", 5, digest),
        ("builds", "fast", 6, digest),
        ("deploys", "fast", 5, digest),
    ):
        with pytest.raises(IdempotencyConflictError) as raised:
            task.check_same_request(*request)
        assert raised.value.kind == "conflict"


def test_each_attempt_is_an_event_that_raises_the_version() -> None:
    task = new_task()

    task.record_attempt("claimed", {"attemptId": "a1"}, None, T0 + timedelta(seconds=1))
    task.record_attempt(
        "running", {"attemptId": "a1", "runner": "r1"}, "acme/web/s1", T0 + timedelta(seconds=2)
    )

    assert task.version == 3
    assert (task.state, task.latest_attempt, task.session_path, task.attempts) == (
        "running",
        {"attemptId": "a1", "runner": "r1"},
        "acme/web/s1",
        2,
    )
    assert [type(e).__qualname__ for e in task.collect_events()] == [
        "QueueTask.Created",
        "QueueTask.AttemptRecorded",
        "QueueTask.AttemptRecorded",
    ]


def test_an_attempt_without_a_session_path_keeps_the_last_one() -> None:
    task = new_task()
    task.record_attempt("running", {"attemptId": "a1"}, "acme/web/s1", T0)

    task.record_attempt("pending", {"attemptId": "a2"}, None, T0)

    assert task.session_path == "acme/web/s1" and task.state == "pending"


@pytest.mark.parametrize("terminal", ["completed", "failed", "blocked", "cancelled"])
def test_a_terminal_task_takes_no_more_attempts(terminal: str) -> None:
    task = new_task()
    task.record_attempt(terminal, {"attemptId": "a1"}, None, T0)

    with pytest.raises(TerminalStateError) as raised:
        task.record_attempt("running", {"attemptId": "a2"}, None, T0)

    assert raised.value.kind == "conflict" and task.is_terminal and task.version == 2


def test_an_attempt_needs_a_known_state_and_an_attempt_id() -> None:
    task = new_task()

    with pytest.raises(SchemaInvalidError):
        task.record_attempt("paused", {"attemptId": "a1"}, None, T0)
    for attempt in ({}, {"attemptId": ""}, {"attemptId": 7}):
        with pytest.raises(SchemaInvalidError):
            task.record_attempt("running", attempt, None, T0)
    assert task.version == 1 and set(QUEUE_TASK_STATES) >= {"pending", "blocked"}


def test_cancel_records_the_reason_once() -> None:
    task = new_task()
    at = T0 + timedelta(minutes=1)

    assert task.cancel("operator said so", at) is True
    assert task.cancel("again", at + timedelta(minutes=1)) is False

    assert (task.state, task.cancel_reason, task.cancelled_at, task.version) == (
        "cancelled",
        "operator said so",
        at,
        2,
    )


def test_a_completed_task_cannot_be_cancelled() -> None:
    task = new_task()
    task.record_attempt("completed", {"attemptId": "a1"}, None, T0)

    assert task.cancel("too late", T0) is False
    assert task.state == "completed" and task.cancel_reason is None
    assert task.cancelled_at is None and task.version == 2


def test_read_marks_keep_the_latest_version_each_reader_saw() -> None:
    reads = QueueTaskReads.create(task_id="qt_1", tenant_id="acme", now=T0)

    reads.mark_read("alice", 10, T0)
    reads.mark_read("bob", 12, T0 + timedelta(seconds=1))
    reads.mark_read("alice", 15, T0 + timedelta(seconds=2))

    assert reads.id == queue_task_reads_id("qt_1") == "queue-reads:qt_1"
    assert reads.cursors == {"alice": (15, T0 + timedelta(seconds=2)), "bob": (12, T0 + timedelta(seconds=1))}
