"""Handlers of workers: register, heartbeat, the SSE channel, state, the registry, and wakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from interfaces.http.endpoint import Call
from interfaces.http.sse import ServerSentEvent, event, sse_response
from interfaces.http.workers.models import RegistryQuery


def register_worker(call: Call) -> Any:
    providers = [p.model_dump(by_alias=True, exclude_none=True) for p in call.body.providers]
    record, _created = call.app.workers.register(call.principal, call.body.worker_id, providers)
    return record


def heartbeat(call: Call) -> tuple[int, None]:
    call.app.workers.heartbeat(call.principal, call.path["workerId"])
    return 204, None


def channel(call: Call) -> Any:
    frames = call.app.worker_channel.open(call.principal, call.path["workerId"])

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for name, payload in frames:
            yield event(name, payload)

    return sse_response(events(), keepalive=call.app.http.sse_keepalive)


def put_state(call: Call) -> Any:
    patch = call.body.model_dump(by_alias=True, exclude_unset=True)
    return call.app.workers.update_state(call.principal, call.path["workerId"], patch)


def get_worker(call: Call) -> Any:
    q = call.query(RegistryQuery)
    return call.app.workers.get(call.principal, call.path["workerId"], q.min_position)


def list_workers(call: Call) -> Any:
    items = call.app.workers.list_workers(call.principal, call.query(RegistryQuery).min_position)
    return {"items": items, "count": len(items)}


def list_llms(call: Call) -> Any:
    items = call.app.workers.llms(call.principal, call.query(RegistryQuery).min_position)
    return {"items": items, "count": len(items)}


def wake_result(call: Call) -> Any:
    b = call.body
    return call.app.workers.answer_wake(call.principal, call.path["wakeId"], b.ok, b.error)
