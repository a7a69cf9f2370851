"""Real `WorkerLoop`s for the OpenAI door's tests, and OpenAI SDK clients pointed at a test server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai

from interfaces.client import AgentRunClient
from interfaces.client.types_work import ChannelTask
from interfaces.client.worker_loop import TaskContext, TaskHandler, WorkerLoop
from tests.support.server import Server, token_of, unique


def sdk(server: Server, role: str = "client", **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=token_of(role), timeout=30, **options)


def async_sdk(server: Server, role: str = "client", **options: Any) -> openai.AsyncOpenAI:
    options.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key=token_of(role), timeout=30, **options)


def completion_body(text: str) -> dict[str, Any]:
    return {
        "id": "worker-side-id",
        "object": "chat.completion",
        "created": 0,
        "model": "echo-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


def chunk_body(text: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if text is None else {"content": text}
    return {
        "id": "worker-side-id",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "echo-1",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def echo(task: ChannelTask, context: TaskContext) -> dict[str, Any]:
    """A stand-in model: answers `echo <last message>`, streamed in two pieces when asked to."""
    text = task["request"]["messages"][-1]["content"]
    if task["streaming"]:
        context.chunk(chunk_body("echo "))
        context.chunk(chunk_body(text))
        context.chunk(chunk_body(None, "stop"))
    return completion_body(f"echo {text}")


def start_worker(
    server: Server, handler: TaskHandler = echo, *, pool: str | None = None, llm: str | None = None
) -> tuple[WorkerLoop, str]:
    """A worker on the project's client serving one LLM, returned once its channel is bound."""
    llm = llm or unique("llm")
    provider: dict[str, Any] = {"name": llm, "model": "echo-1", **({"poolName": pool} if pool else {})}
    loop = WorkerLoop(
        AgentRunClient(server.base_url, token_of("worker"), timeout=10),
        [provider],  # type: ignore[list-item]
        handler,
        heartbeat_interval=2.0,
        reconnect_base=0.05,
        reconnect_cap=0.5,
        state_backoff=(0.05, 0.5, 0.05),
    ).start()
    reader = AgentRunClient(server.base_url, token_of("client"), timeout=10)
    eventually(lambda: any(i["name"] == llm and dict(i).get("bound") for i in reader.workers.llms()["items"]))
    return loop, llm


def eventually(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    """The first truthy result of `check`, riding out errors while a server restarts."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as error:  # noqa: BLE001 - a restarting server refuses connections
            last = error
        time.sleep(every)
    raise AssertionError(f"not reached in {timeout}s; last: {last!r}")
