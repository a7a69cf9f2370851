"""The OpenAI door keeps its promises across failures: one run per Idempotency-Key through a server
restart, cancel when the client goes away, and a kept task's stream joined again from its start."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from openai.types.chat import ChatCompletionMessageParam

from interfaces.client.types_work import ChannelTask
from interfaces.client.worker_loop import TaskContext
from tests.support.openai_workers import chunk_body, completion_body, eventually, sdk, start_worker
from tests.support.server import Server, token_of, unique

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def test_a_retry_after_a_server_restart_gets_the_one_tasks_result(own_server: Server) -> None:
    release = threading.Event()
    runs: list[str] = []

    def slow(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
        runs.append(task["taskId"])
        assert release.wait(60)
        return completion_body("after the restart")

    loop, llm = start_worker(own_server, slow)
    answers: list[Any] = []
    # The SDK retries the dropped request itself, with the same Idempotency-Key header.
    client = sdk(own_server, max_retries=12)
    key = {"Idempotency-Key": unique("key")}
    caller = threading.Thread(
        target=lambda: answers.append(
            client.chat.completions.create(model=llm, messages=HI, extra_headers=key)
        )
    )
    try:
        caller.start()
        eventually(lambda: runs)
        admin = own_server.client("admin")
        own_server.restart()

        def held_again() -> bool:
            task = admin.ok(admin.get(f"/inference-tasks/{runs[0]}"))
            return (
                loop.connections >= 2 and task["status"] == "claimed" and task["claimedBy"] == loop.worker_id
            )

        eventually(held_again, timeout=30)
        release.set()
        caller.join(60)
        assert len(answers) == 1, "the client's retry got no answer"
        assert answers[0].id == runs[0] and answers[0].choices[0].message.content == "after the restart"
        assert runs == [runs[0]], "the worker ran the request more than once"
    finally:
        release.set()
        loop.stop()


def test_a_client_leaving_mid_stream_cancels_the_task_and_the_worker_hears_of_it(server: Server) -> None:
    contexts: list[TaskContext] = []

    def endless(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
        contexts.append(context)
        context.chunk(chunk_body("first "))
        assert context.cancelled.wait(20), "no cancel reached the worker"
        return completion_body("never read")

    loop, llm = start_worker(server, endless)
    try:
        raw = sdk(server).chat.completions.with_raw_response.create(model=llm, messages=HI, stream=True)
        task_id = raw.headers["x-agentrun-task-id"]
        stream = raw.parse()
        first = next(iter(stream))
        assert first.choices[0].delta.content == "first "
        stream.close()  # the client goes away mid-stream
        eventually(lambda: contexts and contexts[0].cancelled.is_set())
        assert task_id in loop.cancelled
        api = server.client("client")
        assert api.ok(api.get(f"/inference-tasks/{task_id}"))["status"] == "cancelled"
    finally:
        loop.stop()


def test_a_kept_stream_is_joined_again_from_its_start_or_after_the_last_event(server: Server) -> None:
    go_on = threading.Event()

    def two_parts(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
        context.chunk(chunk_body("one "))
        assert go_on.wait(20)
        context.chunk(chunk_body("two", "stop"))
        return completion_body("one two")

    loop, llm = start_worker(server, two_parts)
    headers = {
        "Authorization": f"Bearer {token_of('client')}",
        "Idempotency-Key": unique("key"),
        "X-Agentrun-On-Disconnect": "continue",
    }
    body = {"model": llm, "messages": HI, "stream": True}
    url = server.base_url + "/v1/chat/completions"
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=30) as response:
            task_id = response.headers["x-agentrun-task-id"]
            lines = response.iter_lines()
            assert next(line for line in lines if line.startswith("id:")) == "id: 1"
        go_on.set()  # the client left after the first chunk; the task goes on
        api = server.client("client")
        eventually(lambda: api.ok(api.get(f"/inference-tasks/{task_id}"))["status"] == "completed")
        replay = httpx.post(url, json=body, headers=headers, timeout=30)
        assert replay.headers["x-agentrun-task-id"] == task_id
        data = [line[6:] for line in replay.text.splitlines() if line.startswith("data: ")]
        assert '"one "' in data[0] and '"two"' in data[1] and data[2:] == ["[DONE]"]
        resumed = httpx.post(url, json=body, headers={**headers, "Last-Event-ID": "1"}, timeout=30)
        data = [line[6:] for line in resumed.text.splitlines() if line.startswith("data: ")]
        assert len(data) == 2 and '"two"' in data[0] and data[1] == "[DONE]"
        eventually(lambda: loop.completed >= 1)
        assert loop.completed == 1
    finally:
        go_on.set()
        loop.stop()


def test_a_keyed_retry_after_a_dropped_connection_keeps_and_joins_the_task(server: Server) -> None:
    release = threading.Event()
    runs: list[str] = []

    def slow(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
        runs.append(task["taskId"])
        assert release.wait(20)
        return completion_body("kept")

    loop, llm = start_worker(server, slow)
    headers = {"Authorization": f"Bearer {token_of('client')}", "Idempotency-Key": unique("key")}
    body = {"model": llm, "messages": HI}
    try:
        with pytest.raises(httpx.ReadTimeout):  # the connection drops while the worker runs the task
            httpx.post(server.base_url + "/v1/chat/completions", json=body, headers=headers, timeout=1.0)
        answers: list[Any] = []
        retry = threading.Thread(
            target=lambda: answers.append(
                sdk(server).chat.completions.create(
                    model=llm, messages=HI, extra_headers={"Idempotency-Key": headers["Idempotency-Key"]}
                )
            )
        )
        retry.start()
        eventually(lambda: runs)
        release.set()
        retry.join(20)
        assert answers and answers[0].id == runs[0] and answers[0].choices[0].message.content == "kept"
        assert runs == [runs[0]] and runs[0] not in loop.cancelled
    finally:
        release.set()
        loop.stop()
