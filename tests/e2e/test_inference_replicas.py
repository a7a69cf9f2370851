"""Replicas on one PostgreSQL: waiters and streams on A see what workers post to B.

Run twice: two separate servers, and one `serve --workers 2` whose processes share the port (A and
B are then separate connections, each served by whichever process accepts it).
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from httpx_sse import connect_sse

from tests.support.postgres import throwaway_database
from tests.support.server import Server, token_of
from tests.support.waiting import wait_for_waiters, waiters_gauge
from tests.support.workers import ChannelClient, register

# Timing-sensitive load: kept on one xdist worker with the other heavy tests (ADR 0041).
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("heavy-a")]


@pytest.fixture(scope="module", params=["two-servers", "workers-2"])
def replicas(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with throwaway_database() as url:
        if request.param == "workers-2":
            both = Server("postgres", Path(tmp_path_factory.mktemp("w")), database_url=url, workers=2).start()
            yield both, both
            both.stop()
            return
        a = Server("postgres", Path(tmp_path_factory.mktemp("a")), database_url=url).start()
        b = Server("postgres", Path(tmp_path_factory.mktemp("b")), database_url=url).start()
        yield a, b
        a.stop()
        b.stop()


def test_a_long_poll_on_a_answers_within_100ms_of_a_result_posted_to_b(replicas: Any) -> None:
    a, b = replicas
    worker_id, llm = register(b)
    channel = ChannelClient(b, worker_id).start()
    client, worker = a.client("client"), b.client("worker")
    latencies = []
    try:
        for _ in range(5):
            task = client.ok(client.post("/inference-tasks", {"llmName": llm, "request": {}}), 202)
            channel.tasks(1)
            answer: dict[str, Any] = {}

            def wait(task_id: str = task["id"], answer: dict[str, Any] = answer) -> None:
                answer["body"] = client.ok(client.get(f"/inference-tasks/{task_id}", waitMs=10_000))
                answer["at"] = time.monotonic()

            parked = waiters_gauge(a) + 1
            waiter = threading.Thread(target=wait)
            waiter.start()
            wait_for_waiters(a, parked)  # parked on A: the result must travel from B
            posted = time.monotonic()
            worker.ok(
                worker.post(f"/inference-tasks/{task['id']}/result", {"workerId": worker_id, "body": "b"})
            )
            waiter.join(10)
            assert answer["body"]["status"] == "completed"
            latencies.append(answer["at"] - posted)
    finally:
        channel.close()
    assert statistics.median(latencies) < 0.1, latencies


def test_a_stream_on_a_receives_chunks_posted_to_b_in_order(replicas: Any) -> None:
    a, b = replicas
    worker_id, llm = register(b)
    channel = ChannelClient(b, worker_id).start()
    client, worker = a.client("client"), b.client("worker")
    try:
        task = client.ok(
            client.post("/inference-tasks", {"llmName": llm, "request": {}, "stream": True}), 202
        )
        channel.tasks(1)
        events: list[tuple[str, Any]] = []
        opened = threading.Event()

        def listen() -> None:
            headers = {"Authorization": f"Bearer {token_of('client')}"}
            with (
                httpx.Client(base_url=a.base_url + "/api/v1", headers=headers, timeout=30) as http,
                connect_sse(http, "GET", f"/inference-tasks/{task['id']}/stream") as source,
            ):
                opened.set()
                for sse in source.iter_sse():
                    events.append((sse.event, orjson.loads(sse.data)))
                    if sse.event in ("completed", "error", "cancelled"):
                        return

        parked = waiters_gauge(a) + 1
        reader = threading.Thread(target=listen)
        reader.start()
        assert opened.wait(10)
        wait_for_waiters(a, parked)  # the stream on A is subscribed before B gets a chunk
        big = "x" * 20_000  # past the NOTIFY payload limit: travels in parts
        sent = [f"c{n}" for n in range(20)] + [big]
        for data in sent:
            response = worker.post(
                f"/inference-tasks/{task['id']}/chunks", {"workerId": worker_id, "data": data}
            )
            assert response.status_code == 204
        worker.ok(
            worker.post(f"/inference-tasks/{task['id']}/result", {"workerId": worker_id, "body": "done"})
        )
        reader.join(10)
        assert [d["data"] for name, d in events if name == "chunk"] == sent
        assert events[-1] == ("completed", {"responseBody": "done"})
    finally:
        channel.close()


def test_a_task_enqueued_on_a_reaches_a_worker_bound_on_b(replicas: Any) -> None:
    a, b = replicas
    worker_id, llm = register(a)
    channel = ChannelClient(b, worker_id).start()
    try:
        client = a.client("client")
        started = time.monotonic()
        task = client.ok(client.post("/inference-tasks", {"llmName": llm, "request": {}}), 202)
        (frame,) = channel.tasks(1)
        assert frame["taskId"] == task["id"] and time.monotonic() - started < 1.0
    finally:
        channel.close()


def test_every_worker_process_serves_requests(replicas: Any) -> None:
    a, b = replicas
    if a is not b:
        pytest.skip("two separate servers: one process each")
    pids: set[str] = set()

    def scrape() -> None:
        with httpx.Client(base_url=a.base_url) as http:  # a fresh connection each time
            text = http.get("/metrics").text
        info = next(line for line in text.splitlines() if line.startswith("agentrun_process{"))
        pids.add(info.split('"')[1])

    deadline = time.monotonic() + 20
    while len(pids) < 2 and time.monotonic() < deadline:
        threads = [threading.Thread(target=scrape) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(pids) == 2, pids
