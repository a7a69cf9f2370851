"""Handlers of inference tasks: enqueue, read and long-poll, stream, list, cancel, worker writes, infer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import orjson
from sse_starlette import ServerSentEvent
from starlette.responses import Response

from application.infer import Chunk
from interfaces.http.deferred import DeferredResponse
from interfaces.http.endpoint import Call, json_response, page
from interfaces.http.errors import error_response
from interfaces.http.inference.models import TaskCountsQuery, TaskListQuery, TaskQuery
from interfaces.http.sse import event, sse_response

INFER_WAIT_MS = 600_000


def enqueue(call: Call) -> tuple[int, Any]:
    b = call.body
    task = call.app.inference_tasks.enqueue(
        call.principal,
        llm_name=b.llm_name,
        request=b.request,
        stream=b.stream,
        agent_id=b.agent_id,
        fail_fast=b.fail_fast,
    )
    return 202, task


def get_task(call: Call) -> Any:
    q = call.query(TaskQuery)
    record, waiting = call.app.task_watch.read(call.principal, call.path["taskId"], q.wait_ms)
    return record if waiting is None else deferred(waiting)


def wait_remembered(call: Call) -> Any:
    """On the event loop: the long-poll of a task this replica saw open, with no thread; None
    when it must read the store (`get_task`)."""
    q = call.query(TaskQuery)
    if not q.wait_ms:
        return None
    waiting = call.app.task_watch.wait_remembered(call.principal, call.path["taskId"], q.wait_ms)
    return None if waiting is None else deferred(waiting)


def deferred(waiting: Callable[[], Awaitable[dict[str, Any]]]) -> DeferredResponse:
    async def produce() -> Response:
        return json_response(await waiting())

    return DeferredResponse(produce)


def stream_task(call: Call) -> Any:
    frames = call.app.task_watch.stream(call.principal, call.path["taskId"])

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for name, payload in frames:
            yield event(name, payload)

    return sse_response(events(), keepalive=call.app.http.sse_keepalive)


def cancel_task(call: Call) -> Any:
    return call.app.inference_tasks.cancel(call.principal, call.path["taskId"])


def list_tasks(call: Call) -> Any:
    q = call.query(TaskListQuery)
    items, next_cursor = call.app.inference_tasks.list_tasks(
        call.principal,
        status=q.status,
        pool_name=q.pool_name,
        agent_id=q.agent_id,
        limit=q.limit,
        cursor=q.cursor,
        min_position=q.min_position,
    )
    return page(items, next_cursor)


def task_counts(call: Call) -> Any:
    q = call.query(TaskCountsQuery)
    return call.app.inference_tasks.counts(call.principal, q.min_position)


def post_chunk(call: Call) -> tuple[int, None]:
    b = call.body
    call.app.inference_tasks.post_chunk(call.principal, call.path["taskId"], b.worker_id, b.data, b.done)
    return 204, None


def post_result(call: Call) -> Any:
    b = call.body
    return call.app.inference_tasks.post_result(
        call.principal, call.path["taskId"], b.worker_id, status=b.status, body=b.body, error=b.error
    )


def infer(call: Call) -> Any:
    request = call.body.model_dump(exclude_unset=True)
    stream = bool(request.get("stream"))
    use_case = call.app.infer
    started = use_case.start(
        call.principal,
        model=call.path["name"],
        request=request,
        stream=stream,
        fail_fast=True,
        idempotency_key=call.headers.get("idempotency-key") or None,
        keep_on_disconnect=call.headers.get("x-agentrun-on-disconnect", "").strip().lower() == "continue",
        wait_for_wake=True,
    )

    async def abandon() -> None:
        with anyio.CancelScope(shield=True):
            await use_case.abandon(started)

    if not stream:

        async def produce() -> Response:
            return _infer_result(await use_case.result(started, INFER_WAIT_MS))

        return DeferredResponse(produce, abandon)

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for item in use_case.stream(started):
            if isinstance(item, Chunk):
                data = item.data
                yield ServerSentEvent(data if isinstance(data, str) else orjson.dumps(data).decode())
            elif item.record["status"] != "completed":
                yield event("error", {"message": item.record.get("errorMessage") or item.record["status"]})
        yield ServerSentEvent("[DONE]")

    response = sse_response(events(), keepalive=call.app.http.sse_keepalive)

    async def left(message: Any) -> None:
        await abandon()

    response.client_close_handler_callable = left
    return response


def _infer_result(record: dict[str, Any]) -> Response:
    if record["status"] == "completed":
        return json_response(record["responseBody"])
    if record["status"] == "error":
        body = {"kind": "upstream-error", "message": record["errorMessage"] or "the worker failed"}
        return json_response({"error": {**body, "details": {"taskId": record["id"]}}}, 502)
    if record["status"] == "cancelled":
        return error_response("conflict", "the inference task was cancelled", {"taskId": record["id"]})
    return error_response("timeout", "no result within the wait", {"taskId": record["id"]})
