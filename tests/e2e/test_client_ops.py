"""The Python client against the real server: queue tasks, backends, the event log, audit, projections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from interfaces.client import AgentRunClient, BackendTracker, Conflict, SchemaInvalid
from interfaces.client.types_work import (
    AuditView,
    BackendChange,
    LogEvent,
    ProjectionStatus,
    QueueStats,
    QueueTask,
    RunBackend,
)
from tests.support.server import unique

Connect = Callable[[str], AgentRunClient]


def keys_of(typed: Any) -> set[str]:
    return set(typed.__annotations__)


def test_queue_tasks_through_the_client(connect: Connect) -> None:
    client, runner, operator = connect("client"), connect("runner"), connect("operator")
    queue = unique("q")
    key = unique("key")
    task = client.queue.create("tenant-a", "proj", queue, "fast", 5, {"job": 1}, idempotency_key=key)
    assert set(task) == keys_of(QueueTask) and task["state"] == "pending"
    assert (
        client.queue.create("tenant-a", "proj", queue, "fast", 5, {"job": 1}, idempotency_key=key)["id"]
        == task["id"]
    )
    with pytest.raises(Conflict):
        client.queue.create("tenant-a", "proj", queue, "fast", 5, {"job": 2}, idempotency_key=key)
    other = client.queue.create("tenant-a", "proj", queue, "slow", 1, {"job": 3})
    running = runner.queue.record_attempt(task["id"], "running", {"attemptId": "a-1"})
    assert running["state"] == "running" and (running["latestAttempt"] or {})["attemptId"] == "a-1"
    done = runner.queue.record_attempt(task["id"], "completed", {"attemptId": "a-1", "ok": True})
    with pytest.raises(Conflict):
        runner.queue.record_attempt(task["id"], "running", {"attemptId": "a-2"})
    cancelled = operator.queue.cancel(other["id"], "not needed")
    assert cancelled["state"] == "cancelled" and cancelled["cancelReason"] == "not needed"
    stats = client.queue.stats(queue, min_position=cancelled["position"])
    assert set(stats) == keys_of(QueueStats)
    assert stats["total"] == 2 and stats["byState"].get("completed") == 1
    assert client.queue.commander(queue, min_position=cancelled["position"])["stats"]["total"] == 2
    assert {t["id"] for t in client.queue.iter(queue=queue)} == {task["id"], other["id"]}
    assert client.queue.get(task["id"])["version"] == done["version"]
    assert client.queue.mark_read(task["id"], "me")["readerId"] == "me"
    with pytest.raises(SchemaInvalid):
        client.queue.create("tenant-a", "proj", queue, "fast", "high", {})  # type: ignore[arg-type]


def test_the_backend_tracker_persists_switches_on_the_server(connect: Connect) -> None:
    # A runner both records and reads a run's backend (a worker may only record it).
    client, worker = connect("client"), connect("runner")
    run = client.runs.create("tenant-a", "proj", "codex")
    tracker = BackendTracker.for_run(worker, run["id"])
    assert tracker.current() is None
    assert tracker.on_event("gpu-1", "ck-1") and tracker.on_event("gpu-1") is False
    assert tracker.on_event("gpu-2")
    stored = worker.backends.get(run["id"])
    assert set(stored) == keys_of(RunBackend)
    assert stored["current"] == "gpu-2" == tracker.current()
    assert [h["backendId"] for h in stored["history"]] == ["gpu-1", "gpu-2"]
    again = BackendTracker.for_run(worker, run["id"])
    assert again.current() == "gpu-2"
    change = worker.backends.record(run["id"], "gpu-2")
    assert set(change) == keys_of(BackendChange) and change["changed"] is False
    profiles = connect("admin").backends.list()
    assert any(p["profile"] == "codex" for p in profiles)


def test_the_event_log_audit_and_projections_through_the_client(connect: Connect) -> None:
    client, runner, admin = connect("client"), connect("runner"), connect("admin")
    run = client.runs.create("tenant-a", "proj", "codex")
    runner.runs.claim(run["id"], "r-1", 30_000)
    finished = runner.runs.finish(run["id"], "completed")
    events = list(admin.events.iter(aggregate_id=run["id"]))
    assert all(set(e) == keys_of(LogEvent) for e in events)
    assert [e["type"] for e in events][:2] == ["Run.Created", "Run.Claimed"]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and positions[-1] <= finished["position"]
    streamed = []
    for event in admin.events.follow(after=0, aggregate_id=run["id"]):
        streamed.append(event)
        if len(streamed) == len(events):
            break
    assert [int(e.id or 0) for e in streamed] == positions
    assert [e.event for e in streamed] == [e["type"] for e in events]
    audit = admin.events.audit(run["id"], version=1)
    assert set(audit) == keys_of(AuditView) and audit["version"] == 1
    projections = admin.events.projections()
    assert projections and all(set(p) == keys_of(ProjectionStatus) for p in projections)
