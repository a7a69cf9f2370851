"""Queue stats stay equal to a recount from the tasks while eight writers create, attempt and cancel."""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from application.access import SYSTEM, Principal
from domain.errors import TerminalStateError
from domain.queue_task import QueueTask
from domain.timestamps import micros
from interfaces.bootstrap import Container

WRITERS = 8
OPERATIONS = 30
QUEUES = ("builds", "deploys")
LANES = ("fast", "slow", "gpu")
TENANTS = ("tenant-a", "tenant-b")


def write_concurrently(container: Container) -> list[str]:
    """Eight threads interleave creates, attempts and cancels on shared tasks; returns the task ids."""
    task_ids: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(WRITERS, timeout=30)

    def writer(n: int) -> None:
        rng = random.Random(n)
        barrier.wait()
        for i in range(OPERATIONS):
            with lock:
                known = list(task_ids)
            choice = rng.random()
            if not known or choice < 0.5:
                # Even writers repeat one keyed request per five steps, so idempotent creates race
                # on one aggregate; the others create fresh tasks.
                shared = n % 2 == 0 and i % 5 == 0
                r = random.Random(i) if shared else rng
                task, _ = container.queue_tasks.create(
                    SYSTEM,
                    tenant_id=r.choice(TENANTS),
                    project_id="proj",
                    queue=r.choice(QUEUES),
                    lane=r.choice(LANES),
                    priority=r.randint(0, 9),
                    payload={"i": i} if shared else {"writer": n, "i": i},
                    idempotency_key=f"key-{i}" if shared else None,
                )
                with lock:
                    if task["id"] not in task_ids:
                        task_ids.append(task["id"])
            elif choice < 0.85:
                state = rng.choice(("claimed", "running", "pending", "completed", "failed", "blocked"))
                with contextlib.suppress(TerminalStateError):
                    container.queue_tasks.record_attempt(
                        SYSTEM,
                        rng.choice(known),
                        state=state,
                        latest_attempt={"attemptId": f"w{n}-{i}"},
                        session_path=None,
                    )
            else:
                container.queue_tasks.cancel(SYSTEM, rng.choice(known), "writer cancelled")

    with ThreadPoolExecutor(WRITERS) as pool:
        for future in [pool.submit(writer, n) for n in range(WRITERS)]:
            future.result(timeout=120)
    return task_ids


def recount(
    container: Container, task_ids: list[str], tenants: set[str], queue: str | None
) -> dict[str, Any]:
    """The stats computed from scratch from the aggregates themselves."""
    tasks = [container.log.get(task_id) for task_id in task_ids]
    chosen = [
        t for t in tasks if isinstance(t, QueueTask) and t.tenant_id in tenants and queue in (None, t.queue)
    ]
    pending = [micros(t.created_at) for t in chosen if t.state == "pending"]
    return {
        "total": len(chosen),
        "byState": dict(Counter(t.state for t in chosen)),
        "byLane": dict(Counter(t.lane for t in chosen)),
        "maxVersion": max((container.log.position_of(t.id) for t in chosen), default=0),
        "oldestPendingUs": min(pending, default=None),
    }


def assert_stats_match(stats: dict[str, Any], expected: dict[str, Any]) -> None:
    assert stats["total"] == expected["total"]
    assert stats["byState"] == expected["byState"]
    assert stats["byLane"] == expected["byLane"]
    assert stats["maxVersion"] == expected["maxVersion"]
    if expected["oldestPendingUs"] is None:
        assert stats["oldestPendingAgeMs"] is None
    else:
        generated = micros(datetime.fromisoformat(stats["generatedAt"]))
        assert stats["oldestPendingAgeMs"] == (generated - expected["oldestPendingUs"]) // 1000


def test_stats_equal_a_recount_after_eight_concurrent_writers(container: Container) -> None:
    task_ids = write_concurrently(container)
    assert container.views.wait_for(None, 30)

    for queue in (None, *QUEUES):
        stats = container.queue_tasks.stats(SYSTEM, queue, None)
        assert_stats_match(stats, recount(container, task_ids, set(TENANTS), queue))
        assert stats["total"] == sum(stats["byState"].values()) == sum(stats["byLane"].values())
    one_tenant = Principal.of("a-only", ["operator"], ["tenant-a"])
    for queue in (None, *QUEUES):
        stats = container.queue_tasks.stats(one_tenant, queue, None)
        assert_stats_match(stats, recount(container, task_ids, {"tenant-a"}, queue))


def test_stats_equal_a_recount_from_the_task_view(container: Container) -> None:
    write_concurrently(container)
    assert container.views.wait_for(None, 30)

    rows = container.db.fetchall("SELECT queue, state, lane FROM queue_tasks")
    stats = container.queue_tasks.stats(SYSTEM, None, None)

    assert stats["total"] == len(rows) > WRITERS * OPERATIONS // 4
    assert stats["byState"] == dict(Counter(row["state"] for row in rows))
    assert stats["byLane"] == dict(Counter(row["lane"] for row in rows))
    listed = container.db.fetchone("SELECT MAX(version) AS v FROM queue_tasks")
    assert listed is not None and stats["maxVersion"] == listed["v"]
