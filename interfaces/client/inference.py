"""Routes of inference tasks: enqueue, wait, stream, cancel, list, the worker's writes, and `infer`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from interfaces.client.core import HttpCore, StreamEvent
from interfaces.client.runs import body
from interfaces.client.types_runs import JsonObject, Page
from interfaces.client.types_work import InferenceStatus, InferenceTask

MAX_WAIT_MS = 600_000


class Inference:
    """`/inference-tasks` and `/llms/{name}/infer`."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def create(
        self,
        llm_name: str,
        request: JsonObject,
        *,
        stream: bool | None = None,
        agent_id: str | None = None,
        fail_fast: bool | None = None,
    ) -> InferenceTask:
        task = body(llmName=llm_name, request=request, stream=stream, agentId=agent_id, failFast=fail_fast)
        result: InferenceTask = self.core.request("POST", "/inference-tasks", json=task)
        return result

    def get(self, task_id: str, *, wait_ms: int | None = None) -> InferenceTask:
        """The task; with `wait_ms`, answered once it is terminal or after that long."""
        timeout = None if wait_ms is None else self.core.timeout + min(wait_ms, MAX_WAIT_MS) / 1000
        result: InferenceTask = self.core.request(
            "GET", f"/inference-tasks/{task_id}", params={"waitMs": wait_ms}, timeout=timeout
        )
        return result

    def stream(self, task_id: str) -> Iterator[StreamEvent]:
        """`chunk` and `status` events, then one of `completed`, `error`, `cancelled`."""
        return self.core.stream(f"/inference-tasks/{task_id}/stream")

    def cancel(self, task_id: str) -> InferenceTask:
        result: InferenceTask = self.core.request("DELETE", f"/inference-tasks/{task_id}")
        return result

    def list(
        self,
        *,
        status: InferenceStatus | None = None,
        pool_name: str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[InferenceTask]:
        params = {
            "status": status,
            "poolName": pool_name,
            "agentId": agent_id,
            "limit": limit,
            "cursor": cursor,
        }
        result: Page[InferenceTask] = self.core.request("GET", "/inference-tasks", params=params)
        return result

    def post_chunk(self, task_id: str, worker_id: str, data: Any, *, done: bool | None = None) -> None:
        """A streamed delta from the claiming worker (the first moves the task to `running`)."""
        self.core.request(
            "POST", f"/inference-tasks/{task_id}/chunks", json=body(workerId=worker_id, data=data, done=done)
        )

    def post_result(
        self,
        task_id: str,
        worker_id: str,
        *,
        body_: Any = None,
        error: str | None = None,
        status: str | None = None,
    ) -> InferenceTask:
        """The claiming worker's terminal write: a response `body_`, or an `error` message."""
        if (body_ is None) == (error is None):
            raise ValueError("give exactly one of body_ and error")
        result_body = body(workerId=worker_id, status=status, body=body_, error=error)
        result: InferenceTask = self.core.request(
            "POST", f"/inference-tasks/{task_id}/result", json=result_body
        )
        return result

    def infer(self, llm_name: str, chat: JsonObject, *, timeout: float | None = None) -> JsonObject:
        """`POST /llms/{name}/infer` with an OpenAI chat body; waits for the response."""
        result: JsonObject = self.core.request(
            "POST", f"/llms/{llm_name}/infer", json={**chat, "stream": False}, timeout=timeout
        )
        return result

    def infer_stream(self, llm_name: str, chat: JsonObject) -> Iterator[StreamEvent]:
        """`POST /llms/{name}/infer` with `"stream": true`: the chunks as they pass through."""
        return self.core.stream(f"/llms/{llm_name}/infer", method="POST", json={**chat, "stream": True})
