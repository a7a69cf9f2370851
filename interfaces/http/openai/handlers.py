"""Handlers of `/v1`: the models list and chat completions, whole or streamed, over the infer use case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import ServerSentEvent
from starlette.responses import Response

from application.infer import Chunk, InferCall, Outcome
from interfaces.http.endpoint import Call, json_response
from interfaces.http.limits import bounded_int
from interfaces.http.openai import wire
from interfaces.http.openai.responses import Awaited, Streamed, data

TASK_ID_HEADER = "X-Agentrun-Task-Id"


def list_models(call: Call) -> Any:
    llms = call.app.workers.llms(call.principal, None)
    names = {llm["name"] for llm in llms}
    entries = [wire.model_entry(llm["name"], llm.get("updatedAt")) for llm in llms]
    pools: dict[str, Any] = {}
    for llm in llms:
        if llm["poolName"] not in names:
            pools.setdefault(llm["poolName"], llm.get("updatedAt"))
    entries += [wire.model_entry(pool, updated) for pool, updated in sorted(pools.items())]
    return {"object": "list", "data": entries}


def create_chat_completion(call: Call) -> Response:
    body = call.body
    request = body.model_dump(exclude_unset=True)
    headers = call.headers
    infer = call.app.infer
    last = (headers.get("last-event-id") or "").strip()
    after = bounded_int(last, "Last-Event-ID") if last else 0
    started: InferCall = infer.start(
        call.principal,
        model=body.model,
        request=request,
        stream=body.stream,
        fail_fast=headers.get("x-agentrun-fail-fast", "").strip().lower() == "true",
        idempotency_key=headers.get("idempotency-key") or None,
        keep_on_disconnect=headers.get("x-agentrun-on-disconnect", "").strip().lower() == "continue",
    )
    task = started.task
    extra = {TASK_ID_HEADER: started.task_id}

    async def abandon() -> None:
        await infer.abandon(started)

    if not body.stream:

        async def produce() -> Response:
            return _answer(task, await infer.result(started))

        return Awaited(produce, abandon, extra, call.app.http.stopping)

    return Streamed(_frames(infer, started, after), abandon, extra, call.app.http.stopping)


async def _frames(infer: Any, started: InferCall, after: int) -> AsyncIterator[ServerSentEvent | Response]:
    """Chunks as `data:` frames, then `[DONE]`; a failure before any frame is an HTTP error instead."""
    task = started.task
    async for item in infer.stream(started, after):
        if isinstance(item, Chunk):
            yield ServerSentEvent(wire.chunk_data(task, item.data), id=_ident(item.index))
            continue
        assert isinstance(item, Outcome)
        record = item.record
        if record["status"] == "completed":
            if not item.streamed:
                # Nothing streamed here (the worker answered whole, or this is a late join): the answer.
                for n, frame in enumerate(wire.chunks_of_completion(task, record["responseBody"]), 1):
                    yield data(frame, after + n)
            yield ServerSentEvent("[DONE]")
            return
        failure = _failure(record)
        if not item.streamed:
            yield failure
            return
        yield ServerSentEvent(bytes(failure.body).decode())
        return


def _answer(task: dict[str, Any], record: dict[str, Any]) -> Response:
    if record["status"] == "completed":
        return json_response(wire.completion(task, record["responseBody"]))
    return _failure(record)


def _failure(record: dict[str, Any]) -> Response:
    status = record["status"]
    if status == "error":
        message = record.get("errorMessage") or "the worker failed"
        return wire.error_response("upstream-error", message, 502)
    if status == "cancelled":
        return wire.error_response("conflict", "the inference task was cancelled", 409)
    return wire.error_response("timeout", "no result within the wait", 504)


def _ident(index: int | None) -> str | None:
    return None if index is None else str(index)
