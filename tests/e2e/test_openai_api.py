"""The OpenAI SDK against agentrun's `/v1`: models, whole and streamed completions, typed errors."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from interfaces.client.types_work import ChannelTask
from interfaces.client.worker_loop import TaskContext
from tests.support.openai_workers import async_sdk, chunk_body, eventually, sdk, start_worker
from tests.support.server import Server, token_of, unique
from tests.support.workers import register

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def test_models_list_every_llm_and_pool_name(server: Server) -> None:
    pool = unique("pool")
    loop, llm = start_worker(server, pool=pool)
    try:
        models = sdk(server).models.list()
        ids = {m.id for m in models.data}
        assert {llm, pool} <= ids
        assert all(m.object == "model" and m.owned_by for m in models.data)
        assert sdk(server, "auditor").models.list().data  # auditors read models too
    finally:
        loop.stop()


def test_a_whole_completion_is_the_workers_answer_with_the_task_id(server: Server) -> None:
    loop, llm = start_worker(server)
    try:
        raw = sdk(server).chat.completions.with_raw_response.create(model=llm, messages=HI)
        completion = raw.parse()
        task_id = raw.headers["x-agentrun-task-id"]
        assert completion.id == task_id and completion.object == "chat.completion"
        assert completion.choices[0].message.content == "echo hi"
        assert completion.usage is not None and completion.usage.total_tokens == 3
        task = server.client("client").ok(server.client("client").get(f"/inference-tasks/{task_id}"))
        assert task["status"] == "completed" and task["llmName"] == llm
    finally:
        loop.stop()


def test_a_streamed_completion_passes_the_workers_chunks_through_then_done(server: Server) -> None:
    loop, llm = start_worker(server)
    try:
        headers = {"Authorization": f"Bearer {token_of('client')}"}
        body = {"model": llm, "messages": HI, "stream": True}
        response = httpx.post(
            server.base_url + "/v1/chat/completions", json=body, headers=headers, timeout=30
        )
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
        assert data[-1] == "[DONE]" and len(data) == 4
        with sdk(server).chat.completions.create(model=llm, messages=HI, stream=True) as stream:
            chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo hi"
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert {c.id for c in chunks} == {"worker-side-id"}  # passed through as the worker sent them
    finally:
        loop.stop()


def test_the_async_client_routes_by_pool_name_whole_and_streamed(server: Server) -> None:
    pool = unique("pool")
    loop, llm = start_worker(server, pool=pool)

    async def run() -> tuple[Any, str]:
        client = async_sdk(server)
        whole = await client.chat.completions.create(model=pool, messages=HI)
        stream = await client.chat.completions.create(model=pool, messages=HI, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        await client.close()
        return whole, text

    try:
        whole, text = asyncio.run(run())
        assert whole.choices[0].message.content == "echo hi" and text == "echo hi"
        task = server.client("client").ok(server.client("client").get(f"/inference-tasks/{whole.id}"))
        assert task["poolName"] == pool and task["llmName"] == llm
    finally:
        loop.stop()


def test_errors_are_the_sdks_typed_errors_in_openais_shape(server: Server) -> None:
    _, unbound = register(server)  # registered, never bound
    client = sdk(server)
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        sdk(server, role="").chat.completions.create(model=unbound, messages=HI)
    assert unauthorized.value.status_code == 401
    assert isinstance(unauthorized.value.body, dict) and unauthorized.value.body["code"] == "unauthorized"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model=unique("no-such-model"), messages=HI)
    assert missing.value.code == "not-found" and missing.value.param is None
    with pytest.raises(openai.UnprocessableEntityError) as bad:
        client.chat.completions.create(model=unbound, messages=[])
    assert bad.value.code == "schema-invalid" and bad.value.param == "messages"
    with pytest.raises(openai.InternalServerError) as unavailable:
        client.chat.completions.create(
            model=unbound, messages=HI, extra_headers={"X-Agentrun-Fail-Fast": "true"}
        )
    assert unavailable.value.status_code == 503 and unavailable.value.code == "unavailable"
    assert unavailable.value.response.headers["retry-after"] == "1"
    body = unavailable.value.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    with pytest.raises(openai.NotFoundError) as unknown_route:
        client.completions.create(model=unbound, prompt="hi")  # not served: Chat Completions only
    assert unknown_route.value.code == "not-found"


def test_an_idempotency_key_joins_its_task_and_refuses_another_body(server: Server) -> None:
    loop, llm = start_worker(server)
    key = {"Idempotency-Key": unique("key")}
    try:
        client = sdk(server)
        first = client.chat.completions.create(model=llm, messages=HI, extra_headers=key)
        again = client.chat.completions.create(model=llm, messages=HI, extra_headers=key)
        assert again.id == first.id and again.choices[0].message.content == "echo hi"
        with pytest.raises(openai.ConflictError) as conflict:
            client.chat.completions.create(
                model=llm, messages=[{"role": "user", "content": "bye"}], extra_headers=key
            )
        assert conflict.value.code == "conflict"
        racing = {"Idempotency-Key": unique("key")}
        with ThreadPoolExecutor(4) as pool:
            ids = set(
                pool.map(
                    lambda _: client.chat.completions.create(model=llm, messages=HI, extra_headers=racing).id,
                    range(4),
                )
            )
        assert len(ids) == 1 and ids != {first.id}  # concurrent duplicates collide on one task
        eventually(lambda: loop.completed >= 2)  # counted just after the worker's result POST
        assert loop.completed == 2
    finally:
        loop.stop()


def test_a_worker_failure_before_any_chunk_is_an_error_and_after_one_an_error_frame(server: Server) -> None:
    streamed = threading.Event()

    def failing(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
        if task["request"]["messages"][-1]["content"] == "late":
            context.chunk(chunk_body("partial "))
            streamed.set()
        raise RuntimeError("the backend fell over")

    loop, llm = start_worker(server, failing)
    try:
        client = sdk(server)
        with pytest.raises(openai.InternalServerError) as early:
            client.chat.completions.create(model=llm, messages=HI, stream=True)
        assert early.value.status_code == 502 and "fell over" in early.value.message
        late: list[ChatCompletionMessageParam] = [{"role": "user", "content": "late"}]
        received = []
        with pytest.raises(openai.APIError) as mid_stream:
            for chunk in client.chat.completions.create(model=llm, messages=late, stream=True):
                received.append(chunk.choices[0].delta.content)
        assert received == ["partial "] and "fell over" in mid_stream.value.message
    finally:
        loop.stop()


def test_the_openai_routes_are_in_the_openapi_description(server: Server) -> None:
    spec = httpx.get(server.base_url + "/openapi.json", timeout=10).json()
    assert {"/v1/models", "/v1/chat/completions"} <= set(spec["paths"])
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
