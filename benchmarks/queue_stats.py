"""Queue stats read time: the incremental counters against a recount of the task view (baseline).

Fills the queue views of a throwaway PostgreSQL database by folding synthetic QueueTask events
through the real projections, then times `GET /queue/stats`'s query and, as the baseline, the
same answer computed by scanning `queue_tasks`, alternately, in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from infrastructure.database import Cursor, PostgresDatabase
from infrastructure.projection_runner import create_tables
from projections.queue_stats import QueueStats
from projections.queue_stats_queries import queue_stats
from projections.queue_tasks import QueueTasks

STATES = ("claimed", "running", "completed", "failed", "blocked", "cancelled")


class Event(SimpleNamespace):
    """A stand-in for a decoded domain event: the projections dispatch on the class's qualname."""


def event(name: str, **fields: Any) -> Any:
    cls = type(name.split(".")[1], (Event,), {"__qualname__": name})
    return cls(**fields)


def fill(db: PostgresDatabase, tasks: int, queues: int) -> None:
    rng = random.Random(7)
    projections = [QueueTasks(), QueueStats()]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    position = 0
    with db.transaction() as cur:
        for n in range(tasks):
            position += 1
            task_id = f"qt_{n:08d}"
            created = event(
                "QueueTask.Created",
                originator_id=task_id,
                timestamp=start + timedelta(milliseconds=n),
                tenant_id=f"tenant-{n % 3}",
                project_id="proj",
                queue=f"queue-{n % queues}",
                lane=f"lane-{n % 4}",
                priority=rng.randint(0, 9),
                payload={"n": n},
                payload_hash="h",
                idempotency_key=None,
            )
            fold(cur, projections, created, position)
            if rng.random() < 0.7:
                position += 1
                attempt = event(
                    "QueueTask.AttemptRecorded",
                    originator_id=task_id,
                    timestamp=start + timedelta(milliseconds=n + 1),
                    state=rng.choice(STATES),
                    latest_attempt={"attemptId": "a"},
                    session_path=None,
                )
                fold(cur, projections, attempt, position)


def fold(cur: Cursor, projections: list[Any], e: Any, position: int) -> None:
    for projection in projections:
        projection.apply(cur, e, position)


def recount(cur: Cursor, tenants: list[str], queue: str, now: datetime) -> dict[str, Any]:
    """The baseline: the same figures by scanning the task view."""
    marks = ", ".join("?" for _ in tenants)
    where, params = f"tenant_id IN ({marks}) AND queue = ?", [*tenants, queue]
    by_state = cur.execute(
        f"SELECT state, COUNT(*) AS n FROM queue_tasks WHERE {where} GROUP BY state", params
    ).fetchall()
    by_lane = cur.execute(
        f"SELECT lane, COUNT(*) AS n FROM queue_tasks WHERE {where} GROUP BY lane", params
    ).fetchall()
    extra = cur.execute(
        f"SELECT MAX(version) AS v, MIN(CASE WHEN state = 'pending' THEN created_us END) AS oldest "
        f"FROM queue_tasks WHERE {where}",
        params,
    ).fetchone()
    return {
        "total": sum(int(r["n"]) for r in by_state),
        "byState": {r["state"]: int(r["n"]) for r in by_state},
        "byLane": {r["lane"]: int(r["n"]) for r in by_lane},
        "maxVersion": extra["v"] if extra else None,
        "generatedAt": now,
    }


def timed(action: Any, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--queues", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    with throwaway_database(args.database_url) as url:
        db = PostgresDatabase(url)
        try:
            create_tables(db, [QueueTasks(), QueueStats()])
            started = time.perf_counter()
            fill(db, args.tasks, args.queues)
            print(f"folded {args.tasks} tasks in {time.perf_counter() - started:.1f}s")
            with db.transaction() as cur:
                cur.execute("ANALYZE")
            tenants, now = ["tenant-0", "tenant-1"], datetime.now(UTC)
            with db.read() as cur:
                ours_answer = queue_stats(cur, tenants=tenants, queue="queue-0", now=now)
                base_answer = recount(cur, tenants, "queue-0", now)
                assert {k: ours_answer[k] for k in ("total", "byState", "byLane", "maxVersion")} == {
                    k: base_answer[k] for k in ("total", "byState", "byLane", "maxVersion")
                }, (ours_answer, base_answer)
                ours, base = [], []
                for _ in range(args.repeat // 10):
                    ours += timed(lambda: queue_stats(cur, tenants=tenants, queue="queue-0", now=now), 10)
                    base += timed(lambda: recount(cur, tenants, "queue-0", now), 10)
        finally:
            db.close()
    ours_ms, base_ms = statistics.median(ours), statistics.median(base)
    print("| tasks | stats (counters) p50 ms | recount (scan) p50 ms | ratio |")
    print(f"| {args.tasks} | {ours_ms:.2f} | {base_ms:.2f} | {base_ms / ours_ms:.1f}x faster |")
    # Latencies: below 1 is faster than the recount.
    print(f"\nratio agentrun / baseline: {ours_ms / base_ms:.3f}")


if __name__ == "__main__":
    main()
