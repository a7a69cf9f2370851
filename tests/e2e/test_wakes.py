"""One wake per hibernation episode, however many callers find the LLM hibernating at once."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support.server import Server
from tests.support.workers import ChannelClient, register

CHAT = {"model": "m1", "messages": [{"role": "user", "content": "hi"}]}
CALLERS = 5


def answer_everything(
    server: Server, channel: ChannelClient, worker_id: str, stop: threading.Event
) -> list[Any]:
    """Answer wakes (ok) and tasks on the channel in a thread; returns the wake frames seen."""
    api = server.client("worker")
    wakes: list[Any] = []

    def run() -> None:
        while not stop.is_set():
            try:
                name, frame = channel.next(timeout=0.2)
            except queue.Empty:
                continue
            if name == "wake":
                wakes.append(frame)
                api.ok(api.post(f"/wakes/{frame['wakeId']}/result", {"ok": True}))
            elif name == "task":
                body = {"workerId": worker_id, "body": "up"}
                api.ok(api.post(f"/inference-tasks/{frame['taskId']}/result", body))

    threading.Thread(target=run, daemon=True).start()
    return wakes


def wake_requests(server: Server, worker_id: str) -> int:
    admin = server.client("admin")
    page = admin.ok(admin.get("/events", aggregateId=f"worker:{worker_id}", types="Worker.WakeRequested"))
    return len(page["items"])


def wait_hibernating(server: Server, llm: str) -> None:
    """The registry view is what the infer route reads first: wait until it shows the episode."""
    client = server.client("client")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = client.ok(client.get("/llms"))["items"]
        if [i["status"] for i in items if i["name"] == llm] == ["hibernating"]:
            return
    raise AssertionError(f"{llm} never showed as hibernating")


def infer_concurrently(server: Server, llm: str) -> None:
    client = server.client("client")
    with ThreadPoolExecutor(CALLERS) as pool:
        answers = list(pool.map(lambda _: client.post(f"/llms/{llm}/infer", CHAT), range(CALLERS)))
    assert [client.ok(a) for a in answers] == ["up"] * CALLERS


def test_each_hibernation_episode_sends_exactly_one_wake_to_concurrent_callers(server: Server) -> None:
    worker_id, llm = register(server, hibernating=True)
    channel = ChannelClient(server, worker_id).start()
    stop = threading.Event()
    wakes = answer_everything(server, channel, worker_id, stop)
    try:
        wait_hibernating(server, llm)
        infer_concurrently(server, llm)
        # Every caller has its answer, so every wake any of them asked for is in the log by now.
        assert wake_requests(server, worker_id) == 1
        assert [w["llmName"] for w in wakes] == [llm]

        # The LLM hibernates again (a re-registration saying so): a new episode, one more wake.
        worker = server.client("worker")
        provider = {"name": llm, "model": "m1", "hibernating": True}
        worker.ok(worker.post("/workers", {"workerId": worker_id, "providers": [provider]}))
        wait_hibernating(server, llm)
        infer_concurrently(server, llm)
        assert wake_requests(server, worker_id) == 2
        assert len(wakes) == 2 and wakes[0]["wakeId"] != wakes[1]["wakeId"]
    finally:
        stop.set()
        channel.close()
