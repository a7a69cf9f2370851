"""A real worker on the client completes inference tasks and keeps its state current across a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from interfaces.client import AgentRunClient, ClientError, NotFound, Unavailable
from interfaces.client.types_work import ChannelTask, InferenceTask, Worker
from interfaces.client.worker_loop import TaskContext, WorkerLoop
from tests.support.server import Server, token_of, unique
from tests.support.waiting import wait_for, waiters_gauge


def eventually(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.1) -> Any:
    """The first truthy result of `check`, riding out connection errors while the server restarts."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except ClientError as error:
            last = error
        time.sleep(every)
    raise AssertionError(f"not reached in {timeout}s; last: {last!r}")


def echo(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
    """A stand-in model: streams one chunk when asked to, thinks a little, answers with the prompt."""
    if task["streaming"]:
        context.chunk({"delta": "…"})
    time.sleep(float(task["request"].get("think", 0)))
    return {"choices": [{"message": {"role": "assistant", "content": f"echo {task['request']['prompt']}"}}]}


def completed(client: AgentRunClient, task_id: str) -> InferenceTask | None:
    task = client.inference.get(task_id, wait_ms=2_000)
    return task if task["status"] == "completed" else None


def test_a_worker_on_the_client_completes_tasks_and_updates_its_state_across_a_restart(
    own_server: Server,
) -> None:
    client = AgentRunClient(own_server.base_url, token_of("client"), timeout=10)
    admin = AgentRunClient(own_server.base_url, token_of("admin"), timeout=10)
    worker_client = AgentRunClient(own_server.base_url, token_of("worker"), timeout=5)
    llm = unique("llm")
    loop = WorkerLoop(
        worker_client,
        [{"name": llm, "model": "echo-1"}],
        echo,
        heartbeat_interval=1.0,
        reconnect_base=0.05,
        reconnect_cap=0.5,
        state_backoff=(0.05, 0.5, 0.05),
    ).start()
    try:
        worker: Worker = eventually(lambda: loop.worker_id and admin.workers.get(loop.worker_id))
        worker_id = worker["workerId"]
        eventually(lambda: admin.workers.get(worker_id)["bound"])

        before = [client.inference.create(llm, {"prompt": f"b{i}"}, stream=i % 2 == 0) for i in range(4)]
        for task in before:
            done = eventually(partial(completed, client, task["id"]))
            assert done["claimedBy"] == worker_id
            assert (
                done["responseBody"]["choices"][0]["message"]["content"]
                == f"echo {task['requestBody']['prompt']}"
            )
        eventually(lambda: admin.workers.get(worker_id)["externalMetadata"].get("completedTasks") == 4)
        sent_before = loop.state.sent

        # Tasks still being worked on when the server goes down must be finished after it is back.
        in_flight = [client.inference.create(llm, {"prompt": f"m{i}", "think": 0.5}) for i in range(2)]
        eventually(lambda: all(client.inference.get(t["id"])["status"] != "pending" for t in in_flight))
        own_server.restart()

        after = [client.inference.create(llm, {"prompt": f"a{i}"}) for i in range(4)]
        for task in in_flight + after:
            done = eventually(partial(completed, client, task["id"]), timeout=30)
            assert (
                done["responseBody"]["choices"][0]["message"]["content"]
                == f"echo {task['requestBody']['prompt']}"
            )

        assert loop.worker_id == worker_id, "the worker reconnected under the same id"
        assert loop.connections >= 2
        state = eventually(
            lambda: (
                w
                if (w := admin.workers.get(worker_id))["externalMetadata"].get("completedTasks", 0) >= 10
                and w["internalMetadata"].get("activeTasks") == 0
                else None
            ),
            timeout=30,
        )
        assert state["workerStatus"] == "idle"
        assert state["externalMetadata"]["connections"] >= 2
        assert loop.state.sent > sent_before, "state updates arrived after the restart"
    finally:
        loop.stop()
        for c in (client, admin, worker_client):
            c.close()


def test_stopping_the_worker_ends_its_threads_promptly(server: Server) -> None:
    worker_client = AgentRunClient(server.base_url, token_of("worker"), timeout=5)
    loop = WorkerLoop(worker_client, [{"name": unique("llm"), "model": "echo-1"}], echo).start()
    eventually(lambda: loop.connections >= 1 and loop.worker_id)
    started = time.monotonic()
    loop.stop(timeout=5)
    worker_client.close()
    assert time.monotonic() - started < 5
    assert not any(t.name.startswith("worker-channel") for t in threading.enumerate())


def test_inference_routes_through_the_client(server: Server) -> None:
    client = AgentRunClient(server.base_url, token_of("client"), timeout=10)
    admin = AgentRunClient(server.base_url, token_of("admin"), timeout=10)
    worker_client = AgentRunClient(server.base_url, token_of("worker"), timeout=5)
    llm = unique("llm")
    parked = waiters_gauge(server) + 1

    def echo_once_the_stream_is_open(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
        if task["streaming"]:  # a chunk sent before the client's stream subscribed would be missed
            wait_for(lambda: waiters_gauge(server) >= parked)
        return echo(task, context)

    loop = WorkerLoop(worker_client, [{"name": llm, "model": "echo-1"}], echo_once_the_stream_is_open).start()
    try:
        worker_id = eventually(lambda: loop.worker_id)
        eventually(lambda: admin.workers.get(worker_id)["bound"])
        assert any(w["workerId"] == worker_id for w in admin.workers.list()["items"])
        assert any(item["name"] == llm for item in admin.workers.llms()["items"])

        task = client.inference.create(llm, {"prompt": "s"}, stream=True, agent_id="agent-1")
        names = []
        for event in client.inference.stream(task["id"]):
            names.append(event.event)
            if event.event in ("completed", "error", "cancelled"):
                break
        assert "chunk" in names and names[-1] == "completed"
        assert task["id"] in {t["id"] for t in client.inference.list(agent_id="agent-1")["items"]}

        answer = client.inference.infer(llm, {"messages": [{"role": "user", "content": "hi"}], "prompt": "i"})
        assert "echo" in str(answer)

        unbound = unique("llm")
        worker_client.workers.register([{"name": unbound, "model": "m"}])  # registered, never bound
        with pytest.raises(Unavailable):
            client.inference.create(unbound, {"prompt": "x"}, fail_fast=True)
        with pytest.raises(NotFound):
            client.inference.create(unique("nobody"), {"prompt": "x"})
        queued = client.inference.create(unbound, {"prompt": "x"})
        assert queued["status"] == "pending"
        assert client.inference.cancel(queued["id"])["status"] == "cancelled"
    finally:
        loop.stop()
        for c in (client, admin, worker_client):
            c.close()
