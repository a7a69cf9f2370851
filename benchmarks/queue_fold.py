"""Queue projections' catch-up rate against session summaries' (baseline), on PostgreSQL.

Writes N queue events (tasks created, claimed, finished) and N run events of one session to the
log of a throwaway database, then times `ProjectionRunner.catch_up()` of the queue projections
(`queue_tasks` + `queue_stats`) and, as the baseline, of `session_summaries` (one statement per
run event), each into fresh view tables of a second throwaway database, and prints the ratio.

    python -m benchmarks.queue_fold --events 30000
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from application.access import SYSTEM
from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from domain.queue_task import QueueTask
from infrastructure.database import PostgresDatabase
from infrastructure.event_log import EventLog
from infrastructure.projection_runner import ProjectionRunner, create_tables
from infrastructure.settings import Settings
from infrastructure.signals import Signal
from interfaces.bootstrap import Container
from projections.base import Projection
from projections.queue_stats import QueueStats
from projections.queue_tasks import QueueTasks
from projections.session_summaries import SessionSummaries

SAVE_BATCH = 200
FINAL_STATES = ("completed", "failed", "blocked")


def write_queue_events(log: EventLog, events: int) -> int:
    """Tasks in 4 queues × 3 tenants, each created, claimed, then finished (3 events a task)."""
    now = datetime.now(UTC)
    written = n = 0
    while written < events:
        tasks = []
        for _ in range(SAVE_BATCH):
            task = QueueTask.create(
                task_id=f"qt_bench_{n:08d}",
                tenant_id=f"tenant-{n % 3}",
                project_id="bench",
                queue=f"queue-{n % 4}",
                lane=f"lane-{n % 2}",
                priority=n % 10,
                payload={"n": n},
                payload_hash="h",
                idempotency_key=None,
                now=now,
            )
            task.record_attempt("claimed", {"attemptId": f"a{n}"}, None, now)
            task.record_attempt(FINAL_STATES[n % 3], {"attemptId": f"a{n}"}, f"s/{n}", now)
            tasks.append(task)
            n += 1
        log.save(*tasks)
        written += 3 * len(tasks)
    return written


def write_run_events(container: Container, events: int) -> int:
    """One run of a session with `events` run events appended in batches of 500."""
    run = container.runs.create(
        SYSTEM,
        tenant_id="tenant-a",
        project_id="bench",
        backend_profile="codex",
        session_ref={"sessionId": "bench-session"},
        resource_bundle_ref=None,
    )
    epoch = container.runs.claim(SYSTEM, run["id"], "bench-runner", 600_000)["claimEpoch"]
    for start in range(0, events, 500):
        batch = [
            {"type": "usage", "payload": {"i": i}, "claimEpoch": epoch}
            for i in range(start, min(start + 500, events))
        ]
        container.run_events.append(SYSTEM, run["id"], batch)
    return events


def catch_up(log: EventLog, url: str, projection: list[Projection], upto: int) -> float:
    """Seconds to fold the log up to `upto` into fresh tables of the database at `url`."""
    db = PostgresDatabase(url, max_size=2)
    try:
        create_tables(db, projection)
        runner = ProjectionRunner(log, db, projection, events_signal=Signal(), advanced_signal=Signal())
        started = time.perf_counter()
        while runner.run_once(upto=upto):
            pass
        return time.perf_counter() - started
    finally:
        db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=30_000, help="queue events (and as many run events)")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    with throwaway_database(args.database_url) as url:
        settings = Settings(DATABASE_URL=url, AGENTRUN_AUTH="disabled")  # type: ignore[call-arg]
        container = Container(settings)  # not started: nothing folds while we write
        try:
            started = time.perf_counter()
            queue_events = write_queue_events(container.log, args.events)
            queue_head = container.log.head()
            run_events = write_run_events(container, args.events)
            print(f"wrote the log in {time.perf_counter() - started:.1f}s", file=sys.stderr)
            with throwaway_database(args.database_url, "agentrun_bench_views") as views:
                ours = catch_up(container.log, views, [QueueTasks(), QueueStats()], queue_head)
            with throwaway_database(args.database_url, "agentrun_bench_views") as views:
                # The session projection skips the queue events cheaply; its cost is the run events.
                baseline = catch_up(container.log, views, [SessionSummaries()], container.log.head())
        finally:
            container.close()
    ours_rate, baseline_rate = queue_events / ours, run_events / baseline
    print(f"projection catch-up on PostgreSQL, {queue_events:,} queue events / {run_events:,} run events")
    print("| fold | events | seconds | events/s |")
    print("| --- | ---: | ---: | ---: |")
    row = "| {} | {:,} | {:.1f} | {:,.0f} |"
    print(row.format("queue_tasks + queue_stats (queue events)", queue_events, ours, ours_rate))
    print(row.format("session_summaries (run events, baseline)", run_events, baseline, baseline_rate))
    print(f"| **ratio queue / baseline** | | | **{ours_rate / baseline_rate:.2f}** |")
    print(f"\nratio agentrun / baseline: {ours_rate / baseline_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
