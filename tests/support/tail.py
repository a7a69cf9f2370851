"""A real SSE client for the log tail (httpx + httpx-sse), collecting frames with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from httpx_sse import ServerSentEvent, connect_sse

from tests.support.server import token_of


@dataclass
class Frame:
    id: int
    event: str
    data: dict[str, Any]


@dataclass
class TailResult:
    frames: list[Frame] = field(default_factory=list)
    retries: list[int] = field(default_factory=list)


def to_frame(sse: ServerSentEvent) -> Frame:
    return Frame(int(sse.id), sse.event, orjson.loads(sse.data))


def read_tail(
    base_url: str,
    count: int,
    *,
    role: str = "admin",
    params: dict[str, Any] | None = None,
    last_event_id: int | None = None,
    timeout: float = 15.0,
) -> TailResult:
    """Connect to `/events/stream` and collect `count` events (fewer if the deadline passes)."""
    headers = {"Authorization": f"Bearer {token_of(role)}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    result = TailResult()
    deadline = time.monotonic() + timeout
    client = httpx.Client(base_url=base_url + "/api/v1", headers=headers, timeout=httpx.Timeout(5, read=2))
    with client, connect_sse(client, "GET", "/events/stream", params=params or {}) as source:
        source.response.raise_for_status()
        try:
            for sse in source.iter_sse():
                if sse.retry is not None:
                    result.retries.append(sse.retry)
                if sse.id and sse.data:
                    result.frames.append(to_frame(sse))
                if len(result.frames) >= count or time.monotonic() > deadline:
                    break
        except httpx.ReadTimeout:
            pass
    return result


def follow(
    base_url: str,
    stop: Callable[[list[Frame]], bool],
    *,
    role: str = "admin",
    params: dict[str, Any] | None = None,
    after: int = 0,
    timeout: float = 120.0,
    on_disconnect: Callable[[BaseException], None] | None = None,
) -> list[Frame]:
    """Follow the tail across disconnects, resuming with `Last-Event-ID`, until `stop(frames)`.

    A quiet stream times out after 3 s and reconnects, so `stop` is re-checked while idle.
    """
    frames: list[Frame] = []
    last = after
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop(frames):
        headers = {"Authorization": f"Bearer {token_of(role)}", "Last-Event-ID": str(last)}
        try:
            with (
                httpx.Client(
                    base_url=base_url + "/api/v1", headers=headers, timeout=httpx.Timeout(5, read=3)
                ) as c,
                connect_sse(c, "GET", "/events/stream", params=params or {}) as source,
            ):
                source.response.raise_for_status()
                for sse in source.iter_sse():
                    if sse.id and sse.data:
                        frame = to_frame(sse)
                        frames.append(frame)
                        last = frame.id
                        if stop(frames):
                            break
        except (httpx.HTTPError, httpx.StreamError) as error:
            if on_disconnect is not None:
                on_disconnect(error)
            time.sleep(0.1)
    return frames
