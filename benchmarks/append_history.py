"""Append cost against a run's history: a run holding N events beside a new run, same process.

    python -m benchmarks.append_history [--events 100000] [--appends 400] [--database-url URL]

Both runs are appended to by one writer through the application layer (`run_events.append`,
one event per call, projection runner running), alternating between them so that both see the
same machine. The long run is filled first with batches of 500. The figure is the p50 latency of
one append to the long run; the baseline is the same figure for the new run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from application.access import SYSTEM
from benchmarks.append import PAYLOAD
from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

FILL_BATCH = 500


def new_run(container: Container) -> str:
    run = container.runs.create(
        SYSTEM,
        tenant_id="bench",
        project_id="bench",
        backend_profile="bench",
        session_ref=None,
        resource_bundle_ref=None,
    )
    return str(run["id"])


def fill(container: Container, run_id: str, events: int) -> float:
    started = time.perf_counter()
    batch = [{"type": "usage", "payload": PAYLOAD}] * FILL_BATCH
    for done in range(0, events, FILL_BATCH):
        container.run_events.append(SYSTEM, run_id, batch[: min(FILL_BATCH, events - done)])
    return time.perf_counter() - started


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in the long run")
    parser.add_argument("--appends", type=int, default=400, help="measured appends to each run")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    event: list[dict[str, Any]] = [{"type": "usage", "payload": PAYLOAD}]
    with throwaway_database(args.database_url) as url:
        container = Container(Settings(DATABASE_URL=url, AGENTRUN_AUTH="disabled"))  # type: ignore[call-arg]
        container.start()
        try:
            long_run, short_run = new_run(container), new_run(container)
            took = fill(container, long_run, args.events)
            print(f"filled a run with {args.events:,} events in {took:.1f} s", flush=True)
            container.run_events.append(SYSTEM, short_run, event)
            latencies: dict[str, list[float]] = {long_run: [], short_run: []}
            for _ in range(args.appends):
                for run_id in (long_run, short_run):
                    started = time.perf_counter()
                    container.run_events.append(SYSTEM, run_id, event)
                    latencies[run_id].append(time.perf_counter() - started)
        finally:
            container.close()
    rows = [(f"append to a run of {args.events:,} events", long_run), ("append to a new run", short_run)]
    print(f"\n{'path':<40} {'p50 ms':>8} {'p99 ms':>8}")
    for name, run_id in rows:
        measured = latencies[run_id]
        print(f"{name:<40} {quantile(measured, 0.5):>8.2f} {quantile(measured, 0.99):>8.2f}")
    ratio = quantile(latencies[long_run], 0.5) / quantile(latencies[short_run], 0.5)
    print(f"\nratio agentrun / baseline: {ratio:.2f}")


if __name__ == "__main__":
    main()
