"""Filtered pages of the event log (`GET /events`): the event index against the previous scan.

    python -m benchmarks.events_page --events 100000
    python -m benchmarks.events_page --backend sqlite --events 100000

The log is built through the application layer into a throwaway database: runs of 500 run events
each (one batch), spread over ten tenants, with tenant `t9` holding only the first run. Each read
asks for the first 50 matching events the way a client does (following `nextAfter` until it has
50 or reaches the head), through `EventLogUseCases` with the index caught up, then the same
without the index (the previous code: the log in position order, filtered in Python, 5,000 events
examined per page). Prints p50/p99 of each and, last, `ratio agentrun / baseline` (p50 of all
reads together, lower is better).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from application.access import SYSTEM, Principal
from application.event_log import EventFilter, EventLogUseCases
from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

BATCH = 500
LIMIT = 50


def build(c: Container, events: int) -> dict[str, str]:
    runs = max(events // (BATCH + 2), 2)
    ids: dict[str, str] = {}
    for i in range(runs):
        tenant = "t9" if i == 0 else f"t{i % 9}"
        run = c.runs.create(
            SYSTEM, tenant_id=tenant, project_id="bench", backend_profile="codex",
            session_ref={"sessionId": f"s-{i:05d}"}, resource_bundle_ref=None,
        )  # fmt: skip
        batch = [{"type": "assistant_message", "payload": {"n": n}} for n in range(BATCH)]
        c.run_events.append(SYSTEM, run["id"], batch)
        ids.setdefault("first", run["id"])
        ids["middle" if i == runs // 2 else "last"] = run["id"]
    c.runner.catch_up()
    return ids


def first_matches(log: EventLogUseCases, principal: Principal, flt: EventFilter) -> int:
    """The first LIMIT matching events, following `nextAfter` as a client does; returns the count."""
    found, after = 0, 0
    while True:
        page = log.page(principal, after, LIMIT - found, flt)
        found += len(page["items"])
        if page["nextAfter"] is None or found >= LIMIT:
            return found
        after = page["nextAfter"]


def measure(read: Callable[[], int], n: int) -> list[float]:
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        read()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def p(latencies: list[float], q: float) -> float:
    return sorted(latencies)[min(len(latencies) - 1, int(q * len(latencies)))]


def run(settings: Settings, events: int, n: int) -> None:
    c = Container(settings)
    try:
        start = time.perf_counter()
        ids = build(c, events)
        print(f"built {c.log.head()} events in {time.perf_counter() - start:.1f}s")
        scanning = EventLogUseCases(c.log_reader)
        t9 = Principal.of("a9", ["auditor"], ["t9"])
        reads = {
            "tenant t9 (one run, first in the log)": (t9, EventFilter()),
            "types=Run.Created (one per run)": (SYSTEM, EventFilter(frozenset({"Run.Created"}))),
            "runId= the middle run": (SYSTEM, EventFilter(run_id=ids["middle"])),
            "sessionId of a t1 session, as tenant t9 (no match)": (t9, EventFilter(session_id="s-00001")),
        }
        ours, theirs = [], []
        for name, (principal, flt) in reads.items():
            assert first_matches(c.event_log, principal, flt) == first_matches(scanning, principal, flt)
            indexed = measure(lambda: first_matches(c.event_log, principal, flt), n)  # noqa: B023
            scanned = measure(lambda: first_matches(scanning, principal, flt), max(n // 10, 3))  # noqa: B023
            ours += indexed
            theirs += scanned
            print(
                f"{name}: index p50 {p(indexed, 0.5):.2f} ms p99 {p(indexed, 0.99):.2f} ms | "
                f"scan p50 {p(scanned, 0.5):.1f} ms p99 {p(scanned, 0.99):.1f} ms"
            )
        print(f"ratio agentrun / baseline: {statistics.median(ours) / statistics.median(theirs):.4f}")
    finally:
        c.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        if args.backend == "sqlite":
            settings = Settings(AGENTRUN_DATA_DIR=Path(data_dir), AGENTRUN_AUTH="disabled")  # type: ignore[call-arg]
            run(settings, args.events, args.requests)
            return 0
        with throwaway_database(args.database_url) as url:
            settings = Settings(DATABASE_URL=url, AGENTRUN_DATA_DIR=Path(data_dir), AGENTRUN_AUTH="disabled")  # type: ignore[call-arg]
            run(settings, args.events, args.requests)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
