"""Routes of workers: registration, heartbeat, the task channel, state, wakes and the LLM registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import httpx

from interfaces.client.core import HttpCore, StreamEvent
from interfaces.client.runs import body
from interfaces.client.types_runs import JsonObject
from interfaces.client.types_work import (
    LlmList,
    Provider,
    Registration,
    StatePatch,
    WakeAnswer,
    Worker,
    WorkerList,
)


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

    def channel(
        self,
        worker_id: str,
        *,
        read_timeout: float | None = 45.0,
        on_open: Callable[[httpx.Response], None] | None = None,
    ) -> Iterator[StreamEvent]:
        """The worker's SSE channel: `task` and `wake` events until the connection ends."""
        return self.core.stream(f"/workers/{worker_id}/channel", read_timeout=read_timeout, on_open=on_open)

    def put_state(self, worker_id: str, patch: StatePatch | JsonObject) -> Worker:
        """Apply a state patch (top-level last-wins, metadata merged per RFC 7396 one level deep)."""
        result: Worker = self.core.request("PUT", f"/workers/{worker_id}/state", json=dict(patch))
        return result

    def get(self, worker_id: str, *, min_position: int | None = None) -> Worker:
        params = {"minPosition": min_position}
        result: Worker = self.core.request("GET", f"/workers/{worker_id}", params=params)
        return result

    def list(self, *, min_position: int | None = None) -> WorkerList:
        result: WorkerList = self.core.request("GET", "/workers", params={"minPosition": min_position})
        return result

    def llms(self, *, min_position: int | None = None) -> LlmList:
        result: LlmList = self.core.request("GET", "/llms", params={"minPosition": min_position})
        return result

    def wake_result(self, wake_id: str, ok: bool, error: str | None = None) -> WakeAnswer:
        """Answer a `wake` event: whether the hibernating backend came up."""
        result: WakeAnswer = self.core.request(
            "POST", f"/wakes/{wake_id}/result", json=body(ok=ok, error=error)
        )
        return result
