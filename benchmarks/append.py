"""Append throughput of agentrun run events beside plain eventsourcing `save()`, same server.

    python -m benchmarks.append [--writers 32] [--seconds 10] [--batch 1] [--backend postgres|sqlite]
        [--database-url URL]

Each side gets its own throwaway database on the server of `--database-url` (an admin URL), or with
`--backend sqlite` its own SQLite file in a temporary directory (the embedded default, one process).
agentrun is driven through its application layer (`Container.run_events.append`) with the
projection runner started, as in production; the baseline is a minimal eventsourcing aggregate
saved with `Application.save()`. Every writer thread owns one aggregate, so no writer ever loses a
compare-and-set race: what is measured is the store, not retries.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from application.access import SYSTEM
from benchmarks.database import DEFAULT_ADMIN_URL, connection_params, throwaway_database
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

PAYLOAD: dict[str, Any] = {"inputTokens": 1200, "outputTokens": 340, "model": "bench-model"}


@dataclass
class Result:
    """What one side of the benchmark did in its time window."""

    name: str
    batch: int
    elapsed: float = 0.0
    cpu: float = 0.0
    calls: int = 0
    errors: int = 0
    first_error: str | None = None
    latencies: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.elapsed if self.elapsed else 0.0

    @property
    def events_per_s(self) -> float:
        return self.calls_per_s * self.batch

    @property
    def cpu_ms_per_event(self) -> float:
        """CPU time of the whole benchmark process (every thread) per event written."""
        events = self.calls * self.batch
        return self.cpu / events * 1000 if events else float("nan")

    def latency_ms(self, quantile: float) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[int(quantile * 100) - 1] * 1000


def drive(result: Result, writers: int, seconds: float, call: Callable[[int], None]) -> Result:
    """Run `call(writer)` in a loop on `writers` threads for `seconds`; tally into `result`."""
    barrier = threading.Barrier(writers + 1)
    stop = threading.Event()
    lock = threading.Lock()

    def writer(index: int) -> None:
        latencies: list[float] = []
        calls = errors = 0
        first_error: str | None = None
        barrier.wait()
        while not stop.is_set():
            started = time.perf_counter()
            try:
                call(index)
            except Exception as error:  # noqa: BLE001 - counted and reported, never hidden
                errors += 1
                first_error = first_error or f"{type(error).__name__}: {error}"
                continue
            latencies.append(time.perf_counter() - started)
            calls += 1
        with lock:
            result.calls += calls
            result.errors += errors
            result.latencies.extend(latencies)
            result.first_error = result.first_error or first_error

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu_started = time.perf_counter(), time.process_time()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    # Calls in flight at the stop complete and are counted, so the window runs until they do.
    result.elapsed = time.perf_counter() - started
    result.cpu = time.process_time() - cpu_started
    return result


# -- agentrun ----------------------------------------------------------------------------


@contextmanager
def agentrun_settings(admin_url: str, backend: str) -> Iterator[Settings]:
    """Settings for a fresh store: a throwaway PostgreSQL database, or an empty SQLite directory."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="agentrun-bench-") as data_dir:
            yield Settings(AGENTRUN_DATA_DIR=Path(data_dir), AGENTRUN_AUTH="disabled")  # type: ignore[call-arg]
        return
    with throwaway_database(admin_url) as url:
        yield Settings(DATABASE_URL=url, AGENTRUN_AUTH="disabled")  # type: ignore[call-arg]


def bench_agentrun(
    admin_url: str, writers: int, seconds: float, batch: int, backend: str = "postgres"
) -> Result:
    """Run events appended through the application layer, projection runner running."""
    result = Result("agentrun run_events.append", batch)
    events = [{"type": "usage", "payload": PAYLOAD} for _ in range(batch)]
    with agentrun_settings(admin_url, backend) as settings:
        container = Container(settings)
        container.start()
        try:
            run_ids = [
                container.runs.create(
                    SYSTEM,
                    tenant_id="bench",
                    project_id="bench",
                    backend_profile="bench",
                    session_ref=None,
                    resource_bundle_ref=None,
                )["id"]
                for _ in range(writers)
            ]

            def call(index: int) -> None:
                container.run_events.append(SYSTEM, run_ids[index], events)

            batches = _count_projection_batches(container)
            lag = LagSampler(container).start()
            drive(result, writers, seconds, call)
            lag.stop()
            result.notes.append(_projection_report(container, batches))
            result.notes.append(lag.report())
        finally:
            container.close()
    return result


class LagSampler:
    """Projection lag in time: how long after the log reached a head the slowest view reached it."""

    def __init__(self, container: Container, every: float = 0.05) -> None:
        self.container = container
        self.every = every
        self.samples: list[tuple[float, int, int]] = []  # (time, head, lowest projection position)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> LagSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            head = self.container.log.head()
            low = min(self.container.runner.positions().values(), default=0)
            self.samples.append((time.perf_counter(), head, low))

    def lags(self) -> list[float]:
        lags = []
        for n, (at, head, _) in enumerate(self.samples):
            reached = next((t for t, _, low in self.samples[n:] if low >= head), None)
            if reached is not None:
                lags.append(reached - at)
        return lags

    def report(self) -> str:
        lags = sorted(self.lags())
        if not lags:
            return "projection lag: no samples"
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        return (
            f"projection lag during the run ({len(lags)} samples every {self.every * 1000:.0f} ms): "
            f"p50 {statistics.median(lags) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {lags[-1] * 1000:.0f} ms"
        )


def _count_projection_batches(container: Container) -> list[int]:
    """Record the size of every batch the projection runner folds from now on."""
    sizes: list[int] = []
    run_once = container.runner.run_once

    def counted(upto: int | None = None) -> int:
        processed = run_once(upto)
        if processed:
            sizes.append(processed)
        return processed

    container.runner.run_once = counted  # type: ignore[method-assign]
    return sizes


def _projection_report(container: Container, batches: list[int]) -> str:
    """Whether the projection runner ran, how it batched, its lag at the end, its catch-up time."""
    running = container.runner.running
    head = container.log.head()
    lag = head - min(container.runner.positions().values(), default=0)
    measured = list(batches)
    started = time.perf_counter()
    caught_up = container.views.wait_for(head, 60.0)
    waited = time.perf_counter() - started
    mean = sum(measured) / len(measured) if measured else 0.0
    return (
        f"projection runner {'running' if running else 'NOT running'} throughout: "
        f"{len(measured)} batches of {mean:.1f} events on average; lag at the end {lag} "
        "positions; " + (f"caught up {waited:.2f} s later" if caught_up else "not caught up after 60 s")
    )


# -- baseline: plain eventsourcing --------------------------------------------------------


class Tally(Aggregate):
    """The smallest useful eventsourcing aggregate: it records payloads."""

    def __init__(self) -> None:
        self.recorded = 0

    @event("Recorded")
    def record(self, payload: dict[str, Any]) -> None:
        self.recorded += 1


def baseline_env(url: str, pool_size: int) -> dict[str, str]:
    """The library's PostgreSQL recorder with the same pool agentrun uses, nothing else changed."""
    params = connection_params(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": params["dbname"],
        "POSTGRES_HOST": params["host"],
        "POSTGRES_PORT": params["port"],
        "POSTGRES_USER": params["user"],
        "POSTGRES_PASSWORD": params["password"],
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size * 3),
    }


@contextmanager
def baseline_application(admin_url: str, backend: str) -> Iterator[Application[Any]]:
    """The library's application on its own recorder for `backend`, nothing else changed."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="agentrun-bench-baseline-") as data_dir:
            env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{data_dir}/events.db"}
            yield Application(env=env)
        return
    with throwaway_database(admin_url, prefix="agentrun_bench_baseline") as url:
        yield Application(env=baseline_env(url, Settings().pool_size))


def bench_baseline(
    admin_url: str, writers: int, seconds: float, batch: int, backend: str = "postgres"
) -> Result:
    """`Application.save()` of `batch` new events of one in-memory aggregate per call."""
    result = Result("eventsourcing Application.save", batch)
    with baseline_application(admin_url, backend) as app:
        try:
            tallies = [Tally() for _ in range(writers)]
            for tally in tallies:
                app.save(tally)

            def call(index: int) -> None:
                tally = tallies[index]
                for _ in range(batch):
                    tally.record(PAYLOAD)
                app.save(tally)

            drive(result, writers, seconds, call)
        finally:
            app.close()
    return result


# -- report -------------------------------------------------------------------------------


def server_version(admin_url: str, backend: str = "postgres") -> str:
    if backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def ratio_of(agentrun: Result, baseline: Result) -> float:
    if not baseline.events_per_s:
        return float("nan")
    return agentrun.events_per_s / baseline.events_per_s


def print_round(n: int, agentrun: Result, baseline: Result) -> None:
    print(
        f"round {n}: agentrun {agentrun.events_per_s:,.0f} events/s, "
        f"baseline {baseline.events_per_s:,.0f} events/s, "
        f"ratio {ratio_of(agentrun, baseline):.2f}",
        flush=True,
    )


def median_result(results: list[Result]) -> Result:
    """The round with the median events/s (the lower middle one for an even count)."""
    ordered = sorted(results, key=lambda r: r.events_per_s)
    return ordered[(len(ordered) - 1) // 2]


def print_report(args: argparse.Namespace, version: str, rounds: list[tuple[Result, Result]]) -> None:
    print(
        f"\nappend benchmark: {args.writers} writers x {args.seconds:g} s, "
        f"{args.batch} event(s) per call, {len(rounds)} round(s), {version}\n"
    )
    results = [median_result([r[0] for r in rounds]), median_result([r[1] for r in rounds])]
    header = (
        f"{'path':<32} {'events/s':>10} {'calls/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'cpu ms/ev':>9} {'errors':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<32} {r.events_per_s:>10,.0f} {r.calls_per_s:>10,.0f} "
            f"{r.latency_ms(0.50):>8.1f} {r.latency_ms(0.99):>8.1f} "
            f"{r.cpu_ms_per_event:>9.2f} {r.errors:>7}"
        )
    ratios = [ratio_of(a, b) for a, b in rounds]
    print(
        f"\nratio agentrun / baseline: {statistics.median(ratios):.2f}"
        + (f" (median of {', '.join(f'{r:.2f}' for r in ratios)})" if len(ratios) > 1 else "")
    )
    for r in results:
        for note in r.notes:
            print(f"{r.name}: {note}")
        if r.first_error:
            print(f"{r.name}: first error: {r.first_error}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=32, help="concurrent writer threads")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per side")
    parser.add_argument("--batch", type=int, default=1, help="events per call")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_ADMIN_URL,
        help="admin URL of the server the throwaway databases are created on",
    )
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure both sides this many times, alternating which goes first; report medians",
    )
    args = parser.parse_args(argv)
    version = server_version(args.database_url, args.backend)
    rounds: list[tuple[Result, Result]] = []
    for n in range(args.rounds):
        sides = [bench_agentrun, bench_baseline]
        order = sides if n % 2 == 0 else sides[::-1]
        measured = {
            bench.__name__: bench(args.database_url, args.writers, args.seconds, args.batch, args.backend)
            for bench in order
        }
        rounds.append((measured["bench_agentrun"], measured["bench_baseline"]))
        if args.rounds > 1:
            print_round(n + 1, *rounds[-1])
    print_report(args, version, rounds)


if __name__ == "__main__":
    main()
