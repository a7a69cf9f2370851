"""Routes of workers: registration, heartbeat, the task channel, state, wakes and the LLM registry."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import Any

from interfaces.client.core import HttpCore, StreamEvent
from interfaces.client.runs import body
from interfaces.client.types_runs import JsonObject
from interfaces.client.types_work import Provider, Registration, StatePatch


class Workers:
    """`/workers`, `/wakes` and `/llms`: what a worker process speaks, and the registry views."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    def register(self, providers: Sequence[Provider], worker_id: str | None = None) -> Registration:
        """Register (or, with the same `worker_id`, reconnect) a worker serving `providers`."""
        payload = body(workerId=worker_id, providers=[dict(p) for p in providers])
        result: Registration = self.core.request("POST", "/workers", json=payload)
        return result

    def heartbeat(self, worker_id: str) -> None:
        self.core.request("POST", f"/workers/{worker_id}/heartbeat", json={})

    def channel(self, worker_id: str, *, read_timeout: float | None = 45.0) -> Iterator[StreamEvent]:
        """The worker's SSE channel: `task` and `wake` events until the connection ends."""
        return self.core.stream(f"/workers/{worker_id}/channel", read_timeout=read_timeout)

    def put_state(self, worker_id: str, patch: StatePatch | JsonObject) -> JsonObject:
        """Apply a state patch (top-level last-wins, metadata merged per RFC 7396 one level deep)."""
        result: JsonObject = self.core.request("PUT", f"/workers/{worker_id}/state", json=dict(patch))
        return result

    def get(self, worker_id: str) -> JsonObject:
        result: JsonObject = self.core.request("GET", f"/workers/{worker_id}")
        return result

    def list(self, **params: Any) -> Any:
        return self.core.request("GET", "/workers", params=params)

    def llms(self, **params: Any) -> builtins.list[JsonObject] | JsonObject:
        result: builtins.list[JsonObject] | JsonObject = self.core.request("GET", "/llms", params=params)
        return result

    def wake_result(self, wake_id: str, ok: bool, error: str | None = None) -> Any:
        return self.core.request("POST", f"/wakes/{wake_id}/result", json=body(ok=ok, error=error))
