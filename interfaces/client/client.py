"""`AgentRunClient`: the typed, synchronous client of every route of the agentrun contract."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx

from interfaces.client.core import HttpCore
from interfaces.client.events import Events
from interfaces.client.inference import Inference
from interfaces.client.queue import Queue
from interfaces.client.runs import Backends, Commands, Runners, Runs
from interfaces.client.sessions import Sessions
from interfaces.client.types_runs import Health
from interfaces.client.workers import Workers


class AgentRunClient:
    """One server, one token; routes grouped by resource (`client.runs.claim(...)`), errors typed."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.core = HttpCore(base_url, token, transport=transport, timeout=timeout, headers=headers)
        self.runs = Runs(self.core)
        self.commands = Commands(self.core)
        self.runners = Runners(self.core)
        self.backends = Backends(self.core)
        self.sessions = Sessions(self.core)
        self.queue = Queue(self.core)
        self.workers = Workers(self.core)
        self.inference = Inference(self.core)
        self.events = Events(self.core)

    def healthz(self) -> Health:
        """`GET /healthz` (no auth); a 503 answer raises `Unavailable` carrying the health body."""
        result: Health = self.core.request("GET", "/healthz", api=False)
        return result

    def metrics(self) -> str:
        """`GET /metrics`: Prometheus text."""
        response = self.core.http.get("/metrics")
        response.raise_for_status()
        return response.text

    def openapi(self) -> dict[str, object]:
        result: dict[str, object] = self.core.request("GET", "/openapi.json", api=False)
        return result

    def close(self) -> None:
        self.core.close()

    def __enter__(self) -> AgentRunClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
