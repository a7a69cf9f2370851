"""Inference tasks through the full HTTP cycle (enqueue → channel → result → waiter), beside baselines.

    python -m benchmarks.inference [--workers 4] [--callers 8] [--seconds 10] [--server-workers 1]
        [--database-url URL]

A real `agentrun serve` on a throwaway PostgreSQL database; N workers bound over SSE answer every
task at once; C callers each loop enqueue → long-poll `waitMs` until completed. Reported: tasks/s and
the latency from a worker's result POST to the caller's waiter response (p50/p99), and the server's
CPU per task (all its processes, `--server-workers` of them). Baselines in the
same run: the store's ceiling for a task's three events (eventsourcing `save()` three times per task,
C threads), and PostgreSQL NOTIFY commit-to-listener latency (what a cross-replica wake-up costs).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from benchmarks.append_http import process_tree_cpu
from benchmarks.database import DEFAULT_ADMIN_URL, connection_params, throwaway_database
from tests.support.server import Server
from tests.support.workers import ChannelClient, register


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def full_cycle(
    url: str, workers: int, callers: int, seconds: float, server_workers: int = 1
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        server = Server(
            "postgres",
            Path(data),
            database_url=url,
            pool_size=None,
            workers=server_workers,
            log_level="warning",
        ).start()
        assert server.process is not None
        pid = server.process.pid
        posted: dict[str, float] = {}
        stop = threading.Event()
        try:
            ids = [register(server, pool="bench", llm=f"bench-{n}") for n in range(workers)]
            channels = [ChannelClient(server, w).start() for w, _ in ids]

            def work(n: int) -> None:
                api, (worker_id, _) = server.client("worker"), ids[n]
                while not stop.is_set():
                    try:
                        name, frame = channels[n].next(timeout=0.2)
                    except Exception:  # noqa: BLE001 - queue.Empty
                        continue
                    if name == "task":
                        posted[frame["taskId"]] = time.perf_counter()
                        api.post(
                            f"/inference-tasks/{frame['taskId']}/result",
                            {"workerId": worker_id, "body": "ok"},
                        )

            def call(n: int) -> list[float]:
                api, latencies = server.client("client"), []
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    task = api.post(
                        "/inference-tasks", {"llmName": ids[n % workers][1], "request": {}}
                    ).json()
                    done = api.get(f"/inference-tasks/{task['id']}", waitMs=30_000).json()
                    answered = time.perf_counter()
                    assert done["status"] == "completed", done
                    latencies.append(answered - posted[task["id"]])
                return latencies

            threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(workers)]
            for t in threads:
                t.start()
            started, cpu_before = time.monotonic(), process_tree_cpu(pid)
            with ThreadPoolExecutor(callers) as pool:
                latencies = [x for chunk in pool.map(call, range(callers)) for x in chunk]
            elapsed, cpu = time.monotonic() - started, process_tree_cpu(pid) - cpu_before
            stop.set()
            for channel in channels:
                channel.close()
        finally:
            server.stop()
    return {
        "tasks_per_s": len(latencies) / elapsed,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "cpu_ms": cpu * 1000 / max(1, len(latencies)),
    }


class Task(Aggregate):
    @event("Claimed")
    def claim(self) -> None:
        pass

    @event("Completed")
    def complete(self) -> None:
        pass


def store_ceiling(url: str, threads: int, seconds: float) -> float:
    """Tasks/s when a task is just three `save()` calls (created, claimed, completed)."""
    p = connection_params(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": p["dbname"],
        "POSTGRES_HOST": p["host"],
        "POSTGRES_PORT": p["port"],
        "POSTGRES_USER": p["user"],
        "POSTGRES_PASSWORD": p["password"],
        "POSTGRES_POOL_SIZE": "10",
    }
    app: Application[Any] = Application(env=env)
    count = [0]
    lock = threading.Lock()

    def run() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            task = Task()
            app.save(task)
            task.claim()
            app.save(task)
            task.complete()
            app.save(task)
            with lock:
                count[0] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: run(), range(threads)))
    elapsed = time.monotonic() - started
    app.close()
    return count[0] / elapsed


def notify_latency(url: str, n: int = 200) -> tuple[float, float]:
    with psycopg.connect(url, autocommit=True) as listener, psycopg.connect(url, autocommit=True) as sender:
        listener.execute("LISTEN bench")
        latencies = []
        for _ in range(n):
            sent = time.perf_counter()
            sender.execute("NOTIFY bench, 'x'")
            next(iter(listener.notifies(timeout=5, stop_after=1)))
            latencies.append(time.perf_counter() - sent)
    return pct(latencies, 0.5), pct(latencies, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--server-workers", type=int, default=1, help="`agentrun serve --workers`")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    with throwaway_database(args.database_url) as url:
        ours = full_cycle(url, args.workers, args.callers, args.seconds, args.server_workers)
    with throwaway_database(args.database_url) as url:
        ceiling = store_ceiling(url, args.callers, args.seconds)
        notify_p50, notify_p99 = notify_latency(url)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.workers} workers, {args.callers} callers, {args.seconds:g} s, {args.server_workers} server "
        f"process(es); server CPU {ours['cpu_ms']:.1f} ms per task; load average {load}"
    )
    print("| path | tasks/s | result→waiter p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| agentrun full HTTP cycle | {ours['tasks_per_s']:.0f} | {ours['p50']:.1f} | {ours['p99']:.1f} |")
    print(f"| baseline: 3 eventsourcing saves per task | {ceiling:.0f} | | |")
    print(f"| baseline: NOTIFY commit → listener | | {notify_p50:.2f} | {notify_p99:.2f} |")
    print(f"| **ratio agentrun / store ceiling** | **{ours['tasks_per_s'] / ceiling:.2f}** | | |")
    print(f"\nratio agentrun / baseline: {ours['tasks_per_s'] / ceiling:.2f}")


if __name__ == "__main__":
    main()
