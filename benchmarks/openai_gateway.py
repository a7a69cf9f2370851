"""The OpenAI door's cost: streamed completions through agentrun's queue beside a direct SSE server.

    python -m benchmarks.openai_gateway [--requests 200] [--chunks 8] [--seconds 10] [--server-workers 1]
        [--database-url URL]

Both paths stream the same `--chunks` chat.completion.chunk frames as fast as they can, read by the
official `openai` SDK. Baseline: a backend answering `/v1/chat/completions` itself (a Starlette SSE
server in its own process, what a vLLM or Ollama server is to its caller). agentrun: a real
`agentrun serve` on a throwaway PostgreSQL database, the request queued as an inference task, a
real `WorkerLoop` posting each chunk as it would relay a backend's, the door passing them through.
Latency: one client, the two paths alternating request by request, time to first token (TTFT) and
total; the queue's added latency is agentrun minus baseline at each percentile. Throughput:
completions/s with 4 workers and 16 SDK clients on each path. The last line is the throughput ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai

from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from interfaces.client import AgentRunClient
from interfaces.client.types_work import ChannelTask
from interfaces.client.worker_loop import TaskContext, WorkerLoop
from tests.support.server import Server, free_port, token_of

MESSAGES: Any = [{"role": "user", "content": "hi"}]


def chunk(n: int, last: bool) -> dict[str, Any]:
    delta = {} if last else {"content": f"token{n} "}
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if last else None}],
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


# -- the baseline: a backend serving the same stream itself ------------------------------------


def serve_direct(port: int, chunks: int) -> None:
    import orjson
    import uvicorn
    from sse_starlette import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    async def completions(request: Request) -> EventSourceResponse:
        await request.body()

        async def frames() -> AsyncIterator[str]:
            for n in range(chunks):
                yield orjson.dumps(chunk(n, n == chunks - 1)).decode()
            yield "[DONE]"

        return EventSourceResponse(frames())

    async def health(request: Request) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/v1/chat/completions", completions, methods=["POST"]), Route("/h", health)]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def start_direct(chunks: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.openai_gateway",
            "--serve-direct",
            str(port),
            "--chunks",
            str(chunks),
        ]
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/h", timeout=1).status_code == 200:
                return process, base + "/v1"
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the direct server did not start")


# -- agentrun: the queue, a worker relaying chunks, the OpenAI door ---------------------------


def relay(chunks: int) -> Callable[[ChannelTask, TaskContext], dict[str, Any]]:
    def handle(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
        for n in range(chunks):
            context.chunk(chunk(n, n == chunks - 1))
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": "done"}}]}

    return handle


def start_workers(server: Server, count: int, chunks: int) -> list[WorkerLoop]:
    loops = [
        WorkerLoop(
            AgentRunClient(server.base_url, token_of("worker"), timeout=30),
            [{"name": f"bench-{n}", "model": "bench", "poolName": "bench"}],  # type: ignore[list-item]
            relay(chunks),
            heartbeat_interval=5,
            max_parallel=4,
        ).start()
        for n in range(count)
    ]
    reader = AgentRunClient(server.base_url, token_of("client"), timeout=10)
    deadline = time.monotonic() + 30
    while sum(1 for i in reader.workers.llms()["items"] if dict(i).get("bound")) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not bind")
        time.sleep(0.05)
    return loops


def one_stream(client: openai.OpenAI, model: str) -> tuple[float, float]:
    """(time to first token, total) of one streamed completion, in seconds."""
    started = time.perf_counter()
    first = None
    with client.chat.completions.create(model=model, messages=MESSAGES, stream=True) as stream:
        for item in stream:
            if first is None and item.choices and item.choices[0].delta.content:
                first = time.perf_counter()
    done = time.perf_counter()
    return (first or done) - started, done - started


def throughput(make: Callable[[], openai.OpenAI], model: str, clients: int, seconds: float) -> float:
    def run(_: int) -> int:
        client, count = make(), 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            one_stream(client, model)
            count += 1
        client.close()
        return count

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(run, range(clients)))
    return total / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--server-workers", type=int, default=1, help="`agentrun serve --workers`")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--serve-direct", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_direct:
        serve_direct(args.serve_direct, args.chunks)
        return
    direct_process, direct_url = start_direct(args.chunks)
    try:
        with throwaway_database(args.database_url) as url, tempfile.TemporaryDirectory() as data:
            server = Server(
                "postgres", Path(data), database_url=url, pool_size=None, workers=args.server_workers
            ).start()
            loops: list[WorkerLoop] = []
            try:
                loops = start_workers(server, args.workers, args.chunks)

                def ours() -> openai.OpenAI:
                    return openai.OpenAI(
                        base_url=server.base_url + "/v1", api_key=token_of("client"), max_retries=0
                    )

                def theirs() -> openai.OpenAI:
                    return openai.OpenAI(base_url=direct_url, api_key="none", max_retries=0)

                report(args, ours, theirs)
            finally:
                for loop in loops:
                    loop.stop()
                server.stop()
    finally:
        direct_process.terminate()
        direct_process.wait(10)


def report(
    args: argparse.Namespace, ours: Callable[[], openai.OpenAI], theirs: Callable[[], openai.OpenAI]
) -> None:
    agentrun, direct = ours(), theirs()
    for _ in range(10):  # warm up connections, pools and caches on both paths
        one_stream(agentrun, "bench")
        one_stream(direct, "bench")
    a_first, a_total, d_first, d_total = [], [], [], []
    for _ in range(args.requests):
        first, total = one_stream(agentrun, "bench")
        a_first.append(first)
        a_total.append(total)
        first, total = one_stream(direct, "bench")
        d_first.append(first)
        d_total.append(total)
    ours_rate = throughput(ours, "bench", args.clients, args.seconds)
    theirs_rate = throughput(theirs, "bench", args.clients, args.seconds)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.requests} streamed completions per path, {args.chunks} chunks each; PostgreSQL; "
        f"{args.server_workers} server process(es); load average {load}"
    )
    print("| path | TTFT p50 ms | TTFT p99 ms | total p50 ms | total p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, first, total in (
        ("agentrun /v1 (queue + worker)", a_first, a_total),
        ("direct SSE", d_first, d_total),
    ):
        cells = [pct(first, 0.5), pct(first, 0.99), pct(total, 0.5), pct(total, 0.99)]
        print(f"| {name} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    print(
        f"| **added by the queue** | **{pct(a_first, 0.5) - pct(d_first, 0.5):.1f}** | "
        f"**{pct(a_first, 0.99) - pct(d_first, 0.99):.1f}** | {pct(a_total, 0.5) - pct(d_total, 0.5):.1f} | "
        f"{pct(a_total, 0.99) - pct(d_total, 0.99):.1f} |"
    )
    print(f"completions/s, {args.workers} workers, {args.clients} SDK clients, {args.seconds:g} s:")
    print(f"agentrun {ours_rate:.1f}/s, direct {theirs_rate:.1f}/s")
    print(f"ratio agentrun / baseline: {ours_rate / theirs_rate:.3f}")


if __name__ == "__main__":
    main()
