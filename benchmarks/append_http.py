"""Run event appends over HTTP: 32 clients against a real server, beside in-process `save()`.

    python -m benchmarks.append_http [--clients 32] [--seconds 10] [--workers N] [--rounds R]
        [--log-level warning] [--database-url URL]

agentrun: `agentrun serve --workers N` (default: the number of cores) on a throwaway PostgreSQL
database; each client owns a keep-alive connection and a run, and appends one event per request
(`POST /api/v1/runs/{id}/events`). The clients are one asyncio process writing pre-built requests
on raw sockets, so that the client costs little CPU beside the server (both are reported). The
baseline is plain eventsourcing `Application.save()` of one event, 32 threads, in process, measured
in the same run (`benchmarks.append.bench_baseline`). The server logs at `warning` unless told
otherwise: `--log-level info` adds its JSON request line to every request. With `--rounds R`, each
round measures both again and the round of median ratio is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from benchmarks.append import PAYLOAD, bench_baseline
from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from tests.support.server import Server, token_of

TOKEN = token_of("admin")


def process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the uvicorn workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def request_bytes(run_id: str, port: int) -> bytes:
    body = orjson.dumps({"type": "usage", "payload": PAYLOAD})
    head = (
        f"POST /api/v1/runs/{run_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def drive(port: int, run_ids: list[str], seconds: float) -> tuple[int, int, list[float], float]:
    stop = asyncio.Event()
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}

    async def client(run_id: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = request_bytes(run_id, port)
        while not stop.is_set():
            started = time.perf_counter()
            writer.write(request)
            status = await read_response(reader)
            if status == 201:
                counts["ok"] += 1
                latencies.append(time.perf_counter() - started)
            else:
                counts["errors"] += 1
        writer.close()

    tasks = [asyncio.create_task(client(run_id)) for run_id in run_ids]
    await asyncio.sleep(0.5)  # connections open and warm
    counts["ok"] = counts["errors"] = 0
    latencies.clear()
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    return counts["ok"], counts["errors"], latencies, time.perf_counter() - started


def one_round(args: argparse.Namespace) -> dict[str, float]:
    """agentrun over HTTP, then the in-process baseline, each on a throwaway database."""
    with throwaway_database(args.database_url) as url, tempfile.TemporaryDirectory() as data_dir:
        server = Server(
            "postgres",
            Path(data_dir),
            database_url=url,
            workers=args.workers,
            pool_size=None,
            log_level=args.log_level,
        ).start()
        assert server.process is not None
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            http = httpx.Client(base_url=f"{server.base_url}/api/v1", headers=headers)
            body = {"tenantId": "bench", "projectId": "bench", "backendProfile": "bench"}
            run_ids = [http.post("/runs", json=body).json()["id"] for _ in range(args.clients)]
            server_cpu, client_cpu = process_tree_cpu(server.process.pid), time.process_time()
            ok, errors, latencies, elapsed = asyncio.run(drive(server.port, run_ids, args.seconds))
            server_cpu = process_tree_cpu(server.process.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
        finally:
            server.stop()
    baseline = bench_baseline(args.database_url, args.clients, args.seconds, 1)
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "rate": ok / elapsed,
        "p50": quantiles[49] * 1000,
        "p99": quantiles[98] * 1000,
        "errors": errors,
        "server_ms": server_cpu / ok * 1000,
        "client_ms": client_cpu / ok * 1000,
        "baseline_rate": baseline.events_per_s,
        "baseline_p50": baseline.latency_ms(0.5),
        "baseline_p99": baseline.latency_ms(0.99),
        "baseline_errors": baseline.errors,
        "ratio": ok / elapsed / baseline.events_per_s,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server processes")
    parser.add_argument(
        "--log-level", default="warning", help="`serve --log-level` (info: a request line each)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="the median round is reported")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)

    rounds = []
    for n in range(args.rounds):
        rounds.append(one_round(args))
        if args.rounds > 1:
            r = rounds[-1]
            rates = f"{r['rate']:,.0f} vs {r['baseline_rate']:,.0f} events/s"
            print(f"round {n + 1}: {rates}, ratio {r['ratio']:.2f}")
    r = sorted(rounds, key=lambda x: x["ratio"])[len(rounds) // 2]
    print(
        f"\nappend over HTTP: {args.clients} clients x {args.seconds:g} s, 1 event per request, "
        f"server --workers {args.workers} --log-level {args.log_level}"
        + (f", median of {len(rounds)} rounds" if len(rounds) > 1 else "")
        + "\n"
    )
    print(f"{'path':<36} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    print(
        f"{'agentrun POST /runs/{id}/events':<36} {r['rate']:>9,.0f} {r['p50']:>8.1f} "
        f"{r['p99']:>8.1f} {r['errors']:>7.0f}"
    )
    print(
        f"{'eventsourcing Application.save':<36} {r['baseline_rate']:>9,.0f} "
        f"{r['baseline_p50']:>8.1f} {r['baseline_p99']:>8.1f} {r['baseline_errors']:>7.0f}"
    )
    print(
        f"\nCPU per request: server {r['server_ms']:.2f} ms (all its processes), "
        f"client {r['client_ms']:.2f} ms"
    )
    print(f"\nratio agentrun / baseline: {r['ratio']:.2f}")


if __name__ == "__main__":
    main()
