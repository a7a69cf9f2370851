"""Inference tasks through the full HTTP cycle (enqueue → channel → result → waiter), beside baselines.

    python -m benchmarks.inference [--workers 4] [--callers 8] [--seconds 10] [--server-workers 1]
        [--rounds R] [--database-url URL]

A real `agentrun serve` on a throwaway PostgreSQL database; N workers bound over SSE answer every
task at once; C callers each loop enqueue → long-poll `waitMs` until completed. The workers and the
callers are one asyncio process on raw keep-alive sockets (like `benchmarks.append_http`), so that
the client costs little CPU beside the server: each worker reads its channel (chunked SSE) on one
connection and posts each task's result on one of its own result connections, as many as the
callers (any worker may hold every caller's task); each caller owns one connection. Measured once
every channel is open.
Reported: tasks/s and the latency from a worker's result POST to the caller's waiter response
(p50/p99), the server's CPU per task (all its processes, `--server-workers` of them) and the
benchmark client's own. Baselines in the same run: the store's ceiling for a task's three events
(eventsourcing `save()` three times per task, C threads), and PostgreSQL NOTIFY commit-to-listener
latency (what a cross-replica wake-up costs). With `--rounds R`, each round measures both again and
the round of median ratio is reported (a single round moves with the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from benchmarks.append_http import process_tree_cpu
from benchmarks.database import DEFAULT_ADMIN_URL, connection_params, throwaway_database
from tests.support.server import Server, token_of
from tests.support.workers import register

# A task id → when its worker began to post the result.
Posted = dict[str, float]
# An event stream's lines end in CRLF, LF or CR; a blank line ends an event.
SSE_LINE = re.compile(rb"\r\n|\n|\r")
SSE_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    """A response's status and its headers (names lowercased)."""
    lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(b" ", 2)[1]), headers


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body; b"" for the last one (its trailers read too)."""
    size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
    if size == 0:
        while await reader.readuntil(b"\r\n") != b"\r\n":
            pass
        return b""
    return (await reader.readexactly(size + 2))[:-2]


async def body_parts(reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> AsyncIterator[bytes]:
    """A response body as it arrives: chunked, by Content-Length, or up to the end of the connection."""
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        while chunk := await read_chunk(reader):
            yield chunk
    elif b"content-length" in headers:
        yield await reader.readexactly(int(headers[b"content-length"]))
    else:
        while data := await reader.read(65536):
            yield data


def sse_event(block: bytes) -> tuple[str, bytes] | None:
    """An event's name and data, or None for one without data (such as a `: keepalive` comment)."""
    name, data = "message", []
    for line in SSE_LINE.split(block):
        field, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if field == b"event":
            name = value.decode()
        elif field == b"data":
            data.append(value)
    return (name, b"\n".join(data)) if data else None


async def sse_events(parts: AsyncIterator[bytes]) -> AsyncIterator[tuple[str, bytes]]:
    """The (event, data) of an event stream's body, each once its blank line arrived."""
    buffer = b""
    async for part in parts:
        *blocks, buffer = SSE_EVENT_END.split(buffer + part)
        for block in blocks:
            if (parsed := sse_event(block)) is not None:
                yield parsed


def request(
    method: str, path: str, port: int, role: str, body: Any = None, accept: str = "application/json"
) -> bytes:
    """An HTTP/1.1 request to /api/v1 with a role's token (and a JSON body, when given)."""
    head = (
        f"{method} /api/v1{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token_of(role)}\r\nAccept: {accept}\r\n"
    )
    if body is None:
        return f"{head}\r\n".encode()
    payload = orjson.dumps(body)
    head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    return head.encode() + payload


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


class Connection:
    """A keep-alive connection to the server, one request at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def ready(self) -> None:
        """Connect, or connect again if the server closed the connection (an idle keep-alive)."""
        if self.streams is None or self.streams[0].at_eof():
            await self.close()
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)

    async def exchange(self, raw: bytes) -> tuple[int, bytes]:
        """Send a request; its response's status and body."""
        await self.ready()
        assert self.streams is not None
        reader, writer = self.streams
        writer.write(raw)
        status, headers = await read_head(reader)
        body = b"".join([part async for part in body_parts(reader, headers)])
        if headers.get(b"connection", b"").lower() == b"close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.streams is not None:
            await close_writer(self.streams[1])
            self.streams = None


async def answer(results: Connection, worker_id: str, tasks: asyncio.Queue[str], posted: Posted) -> None:
    """Post "ok" as the result of each task taken from the worker's queue."""
    while True:
        task_id = await tasks.get()
        body = {"workerId": worker_id, "body": "ok"}
        raw = request("POST", f"/inference-tasks/{task_id}/result", results.port, "worker", body)
        await results.ready()
        posted[task_id] = time.perf_counter()
        status, response = await results.exchange(raw)
        assert status == 200, (status, response)


async def serve_worker(
    port: int, worker_id: str, concurrency: int, posted: Posted, opened: asyncio.Event
) -> None:
    """A worker: its channel open (then `opened` set), each `task` frame answered by a result poster."""
    posters = [Connection(port) for _ in range(concurrency)]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await asyncio.gather(*(poster.ready() for poster in posters))
        path = f"/workers/{worker_id}/channel"
        writer.write(request("GET", path, port, "worker", accept="text/event-stream"))
        status, headers = await read_head(reader)
        assert status == 200, f"channel of {worker_id}: HTTP {status}"
        tasks: asyncio.Queue[str] = asyncio.Queue()
        async with asyncio.TaskGroup() as group:
            for poster in posters:
                group.create_task(answer(poster, worker_id, tasks, posted))
            opened.set()
            async for name, data in sse_events(body_parts(reader, headers)):
                if name == "task":
                    tasks.put_nowait(orjson.loads(data)["taskId"])
            raise RuntimeError(f"the server ended the channel of {worker_id}")
    finally:
        await asyncio.gather(close_writer(writer), *(poster.close() for poster in posters))


async def call(port: int, llm: str, deadline: float, posted: Posted) -> list[float]:
    """Enqueue a task, wait for it to complete, again until the deadline; the result→waiter latencies."""
    api, latencies = Connection(port), []
    enqueue = request("POST", "/inference-tasks", port, "client", {"llmName": llm, "request": {}})
    try:
        while time.monotonic() < deadline:
            status, body = await api.exchange(enqueue)
            assert status == 202, (status, body)
            task_id = orjson.loads(body)["id"]
            status, body = await api.exchange(
                request("GET", f"/inference-tasks/{task_id}?waitMs=30000", port, "client")
            )
            answered = time.perf_counter()
            done = orjson.loads(body)
            assert status == 200 and done["status"] == "completed", (status, done)
            latencies.append(answered - posted[task_id])
    finally:
        await api.close()
    return latencies


async def drive(
    port: int, pid: int, ids: list[tuple[str, str]], callers: int, seconds: float
) -> dict[str, Any]:
    """The workers' channels opened, then the callers for `seconds`; what the window measured."""
    posted: Posted = {}
    opened = [asyncio.Event() for _ in ids]
    # Tasks go to the pool's workers by a hash of their id, whichever LLM a caller names: any worker
    # may hold every caller's task at once.
    concurrency = callers
    async with asyncio.TaskGroup() as group:
        workers = [
            group.create_task(serve_worker(port, worker_id, concurrency, posted, opened[n]))
            for n, (worker_id, _) in enumerate(ids)
        ]
        await asyncio.gather(*(channel_open.wait() for channel_open in opened))
        started, server_cpu, client_cpu = time.monotonic(), process_tree_cpu(pid), time.process_time()
        deadline = started + seconds
        chunks = await asyncio.gather(
            *(group.create_task(call(port, ids[n % len(ids)][1], deadline, posted)) for n in range(callers))
        )
        elapsed = time.monotonic() - started
        server_cpu, client_cpu = process_tree_cpu(pid) - server_cpu, time.process_time() - client_cpu
        for worker in workers:
            worker.cancel()
    latencies = [x for chunk in chunks for x in chunk]
    tasks = max(1, len(latencies))
    return {
        "tasks_per_s": len(latencies) / elapsed,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "cpu_ms": server_cpu * 1000 / tasks,
        "client_cpu_ms": client_cpu * 1000 / tasks,
    }


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
        try:
            ids = [register(server, pool="bench", llm=f"bench-{n}") for n in range(workers)]
            return asyncio.run(drive(server.port, server.process.pid, ids, callers, seconds))
        finally:
            server.stop()


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


def one_round(args: argparse.Namespace) -> dict[str, Any]:
    """The full cycle, then its baselines, each on a throwaway database of its own."""
    with throwaway_database(args.database_url) as url:
        ours = full_cycle(url, args.workers, args.callers, args.seconds, args.server_workers)
    with throwaway_database(args.database_url) as url:
        ours["ceiling"] = store_ceiling(url, args.callers, args.seconds)
        ours["notify_p50"], ours["notify_p99"] = notify_latency(url)
    ours["ratio"] = ours["tasks_per_s"] / ours["ceiling"]
    return ours


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--server-workers", type=int, default=1, help="`agentrun serve --workers`")
    parser.add_argument("--rounds", type=int, default=1, help="the round of median ratio is reported")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    rounds = []
    for n in range(args.rounds):
        rounds.append(one_round(args))
        if args.rounds > 1:
            r = rounds[-1]
            print(
                f"round {n + 1}: {r['tasks_per_s']:.0f} vs {r['ceiling']:.0f} tasks/s, ratio {r['ratio']:.2f}"
            )
    r = sorted(rounds, key=lambda x: x["ratio"])[len(rounds) // 2]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.workers} workers, {args.callers} callers, {args.seconds:g} s, {args.server_workers} server "
        f"process(es)"
        + (f", median of {len(rounds)} rounds" if len(rounds) > 1 else "")
        + f"; server CPU {r['cpu_ms']:.1f} ms per task, benchmark client CPU "
        f"{r['client_cpu_ms']:.1f} ms per task; load average {load}"
    )
    print("| path | tasks/s | result→waiter p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| agentrun full HTTP cycle | {r['tasks_per_s']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} |")
    print(f"| baseline: 3 eventsourcing saves per task | {r['ceiling']:.0f} | | |")
    print(f"| baseline: NOTIFY commit → listener | | {r['notify_p50']:.2f} | {r['notify_p99']:.2f} |")
    print(f"| **ratio agentrun / store ceiling** | **{r['ratio']:.2f}** | | |")
    print(f"\nratio agentrun / baseline: {r['ratio']:.2f}")


if __name__ == "__main__":
    main()
