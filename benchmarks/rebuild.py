"""Full rebuild of every projection beside plain eventsourcing `ProjectionRunner` catch-up, and
commit-to-SSE latency with many tail clients, on PostgreSQL.

    python -m benchmarks.rebuild --events 200000 --tails 100
    python -m benchmarks.rebuild --events 0 --tails 100    # only the tail latency
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection as LibraryProjection
from eventsourcing.projection import ProjectionRunner as LibraryRunner
from httpx_sse import aconnect_sse

from application.access import SYSTEM
from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from infrastructure.event_log import AgentRunLog, postgres_env
from infrastructure.rebuild import Rebuild
from infrastructure.settings import Settings
from interfaces.bootstrap import Container, all_projections

BATCH = 500


def fill(container: Container, events: int) -> int:
    """Runs with sessions, a turn each, and run events in batches of 500; returns the head."""
    written = 0
    n = 0
    while written < events:
        run = container.runs.create(
            SYSTEM,
            tenant_id="tenant-a",
            project_id="bench",
            backend_profile="codex",
            session_ref={"sessionId": f"bench-{n}"},
            resource_bundle_ref=None,
        )
        container.commands.create(
            SYSTEM, run["id"], command_type="turn", payload={"prompt": f"p{n}"}, idempotency_key=None
        )
        epoch = container.runs.claim(SYSTEM, run["id"], "bench-runner", 600_000)["claimEpoch"]
        for _ in range(4):
            batch = [{"type": "usage", "payload": {"i": i}, "claimEpoch": epoch} for i in range(BATCH)]
            container.run_events.append(SYSTEM, run["id"], batch)
        written += 4 * BATCH + 4
        n += 1
    return container.log.head()


def bench_rebuild(container: Container) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as side:
        job = Rebuild(container.log, container.db, container.projections, Path(side))
        try:
            started = time.perf_counter()
            position = job.build()
            elapsed = time.perf_counter() - started
        finally:
            job.close()
    return position, elapsed


class CountingView(PostgresTrackingRecorder):
    """The library's pattern: one transaction per event, a view row and the tracking row."""

    def count(self, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("UPDATE bench_counter SET n = n + 1")
            self._insert_tracking(curs, tracking)


class CountingProjection(LibraryProjection[CountingView]):
    name = "counting"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.count(tracking)


def bench_library(url: str, head: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_counter (n BIGINT NOT NULL)")
        conn.execute("INSERT INTO bench_counter VALUES (0)")
    started = time.perf_counter()
    with LibraryRunner(
        application_class=AgentRunLog,
        projection_class=CountingProjection,
        view_class=CountingView,
        env=postgres_env(url, 10),
    ) as runner:
        runner.wait(head, timeout=3600)
    return time.perf_counter() - started


async def tail_latency(base_url: str, token: str, tails: int, events: int, run_id: str) -> list[float]:
    """Each of `tails` clients follows the log; a writer appends `events` one at a time."""
    committed: dict[int, float] = {}
    latencies: list[float] = []
    ready = asyncio.Event()
    connected = 0
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=tails + 10)
    async with httpx.AsyncClient(
        base_url=base_url + "/api/v1", headers=headers, timeout=60, limits=limits
    ) as http:
        head = (await http.get("/events", params={"after": 0, "limit": 1})).json()
        del head

        async def follow() -> None:
            nonlocal connected
            seen = 0
            params = {"runId": run_id, "types": "Run.EventAppended"}
            async with aconnect_sse(http, "GET", "/events/stream", params=params) as source:
                connected += 1
                if connected == tails:
                    ready.set()
                async for sse in source.aiter_sse():
                    if not sse.data:
                        continue
                    position = int(sse.id)
                    now = time.perf_counter()
                    while position not in committed:
                        await asyncio.sleep(0.001)
                    latencies.append(now - committed[position])
                    seen += 1
                    if seen >= events:
                        return

        async def write() -> None:
            await ready.wait()
            await asyncio.sleep(0.5)
            for i in range(events):
                body = {"type": "usage", "payload": {"i": i}}
                response = await http.post(f"/runs/{run_id}/events", json=body)
                committed[response.json()["position"]] = time.perf_counter()
                await asyncio.sleep(0.02)

        await asyncio.gather(write(), *(follow() for _ in range(tails)))
    return latencies


def bench_tails(url: str, tails: int, events: int) -> list[float]:
    from tests.support.server import Server, token_of

    with tempfile.TemporaryDirectory() as data_dir:
        server = Server("postgres", Path(data_dir), database_url=url, pool_size=None).start()
        try:
            api = server.client("admin")
            run = api.create_run()
            api.ok(api.post(f"/runs/{run['id']}/claim", {"runnerId": "bench", "leaseMs": 600_000}))
            return asyncio.run(tail_latency(server.base_url, token_of("admin"), tails, events, run["id"]))
        finally:
            server.stop()


def notify_latency(url: str, events: int) -> list[float]:
    """Baseline: a `pg_notify` (autocommit) from the start of its statement to its receipt by one
    LISTENing connection (the receipt often precedes the statement's return, so start is the base)."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    with psycopg.connect(url, autocommit=True) as listener, psycopg.connect(url, autocommit=True) as writer:
        listener.execute("LISTEN bench_tail")

        def listen() -> None:
            for note in listener.notifies(timeout=30, stop_after=events):
                received = time.perf_counter()
                while note.payload not in sent:
                    time.sleep(0.0001)
                latencies.append(received - sent[note.payload])

        thread = threading.Thread(target=listen)
        thread.start()
        time.sleep(0.2)
        for i in range(events):
            started = time.perf_counter()
            sent[str(i)] = started
            writer.execute("SELECT pg_notify('bench_tail', %s)", (str(i),))
            time.sleep(0.02)
        thread.join()
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="0: skip the rebuild comparison")
    parser.add_argument("--tails", type=int, default=100)
    parser.add_argument("--tail-events", type=int, default=100)
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    headline = ""
    if args.events:
        with throwaway_database(args.database_url) as url:
            settings = Settings(DATABASE_URL=url, AGENTRUN_AUTH="disabled")  # type: ignore[call-arg]
            container = Container(settings)
            try:
                started = time.perf_counter()
                head = fill(container, args.events)
                print(f"wrote {head} events in {time.perf_counter() - started:.1f}s", file=sys.stderr)
                position, ours = bench_rebuild(container)
                assert position == head, (position, head)
            finally:
                container.close()
            baseline = bench_library(url, head)
        names = ", ".join(p.name for p in all_projections())
        print(f"full rebuild over {head:,} events (projections: {names})")
        print("| path | seconds | events/s |")
        print("| --- | ---: | ---: |")
        print(f"| agentrun `projections rebuild` (all projections) | {ours:.1f} | {head / ours:,.0f} |")
        print(f"| eventsourcing `ProjectionRunner` catch-up | {baseline:.1f} | {head / baseline:,.0f} |")
        print(f"| **ratio agentrun / baseline** | | **{baseline / ours:.1f}** |")
        headline = f"{baseline / ours:.1f} (rebuild events/s)"
    if args.tails:
        with throwaway_database(args.database_url) as url:
            latencies = bench_tails(url, args.tails, args.tail_events)
            baseline_latencies = notify_latency(url, args.tail_events)
        ours_p50, base_p50 = pct(latencies, 0.5), pct(baseline_latencies, 0.5)
        print(f"commit to delivery, {args.tails} tail clients, {args.tail_events} events")
        print("| path | p50 ms | p99 ms | mean ms | deliveries |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(
            f"| agentrun `/events/stream` (HTTP append → SSE frame) | {ours_p50:.1f} | "
            f"{pct(latencies, 0.99):.1f} | {statistics.mean(latencies) * 1000:.1f} | {len(latencies)} |"
        )
        print(
            f"| PostgreSQL `pg_notify` → one LISTEN connection | {base_p50:.2f} | "
            f"{pct(baseline_latencies, 0.99):.2f} | {statistics.mean(baseline_latencies) * 1000:.2f} | "
            f"{len(baseline_latencies)} |"
        )
        print(f"| **ratio agentrun / baseline (p50)** | **{ours_p50 / base_p50:.1f}** | | | |")
        headline = headline or f"{ours_p50 / base_p50:.1f} (tail delivery p50)"
    print(f"\nratio agentrun / baseline: {headline}")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
