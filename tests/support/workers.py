"""A test worker: registers, binds its SSE channel in a thread, and collects the frames it receives."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from typing import Any

import httpx
import orjson
from httpx_sse import connect_sse

from tests.support.server import Server, token_of, unique

# The frame name a ChannelClient queues when the server ends its channel (not when the test closes it).
ENDED = "channel-ended"


class ChannelClient:
    """A worker's channel over a real SSE client; frames land in `frames` as (event, data)."""

    def __init__(self, server: Server, worker_id: str, role: str = "worker") -> None:
        self.server = server
        self.worker_id = worker_id
        self.frames: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.opened = threading.Event()
        self.failure: str | None = None
        self.status: int | None = None  # the channel response's status, once it answers
        self._closed = threading.Event()
        self._client = httpx.Client(
            base_url=server.base_url + "/api/v1",
            headers={"Authorization": f"Bearer {token_of(role)}"},
            timeout=httpx.Timeout(30, read=None),
        )
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ChannelClient:
        self._thread.start()
        assert self.opened.wait(10), "channel did not open"
        return self

    def _run(self) -> None:
        try:
            with connect_sse(self._client, "GET", f"/workers/{self.worker_id}/channel") as source:
                self.status = source.response.status_code
                self._response = source.response
                self.opened.set()
                for sse in source.iter_sse():
                    if self._closed.is_set():
                        return
                    self.frames.put((sse.event, orjson.loads(sse.data) if sse.data else None))
        except (httpx.HTTPError, RuntimeError) as error:
            self.failure = f"{type(error).__name__}: {error}"
        finally:
            if not self._closed.is_set():
                # The server ended the channel (or never opened it): say so, not a silent timeout.
                self.frames.put((ENDED, {"status": self.status, "error": self.failure}))
            self.opened.set()

    def next(self, timeout: float = 10) -> tuple[str, Any]:
        return self.frames.get(timeout=timeout)

    def tasks(self, n: int, timeout: float = 10) -> list[dict[str, Any]]:
        out = []
        while len(out) < n:
            name, data = self.next(timeout)
            assert name != ENDED, f"the channel ended after {len(out)} of {n} tasks: {data}"
            if name == "task":
                out.append(data)
        return out

    def close(self) -> None:
        """Drop the connection, as a worker process that dies would."""
        self._closed.set()
        response = getattr(self, "_response", None)
        if response is not None:
            # Shut the socket down under the reading thread, so the server sees the disconnect now.
            stream = response.extensions.get("network_stream")
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self._client.close()
        self._thread.join(5)


def register(
    server: Server, pool: str | None = None, llm: str | None = None, **provider: Any
) -> tuple[str, str]:
    """Register a worker serving one LLM; returns (workerId, llmName)."""
    api = server.client("worker")
    llm = llm or unique("llm")
    body = {"providers": [{"name": llm, "model": "m1", **({"poolName": pool} if pool else {}), **provider}]}
    created = api.ok(api.post("/workers", body), 200)
    return created["workerId"], llm
