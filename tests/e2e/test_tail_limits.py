"""Tail limits on a dedicated server: a slow client is cut off past its buffer; idle streams get pings.

The server runs with `AGENTRUN_TAIL_BUFFER=8` and `AGENTRUN_SSE_KEEPALIVE=1`; events carry 256 KB
payloads so that the socket buffers of a client that stops reading fill up quickly.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from httpx_sse import connect_sse

from tests.support.server import Api, Server, token_of, unique
from tests.support.tail import Frame, TailResult, read_tail, to_frame

EVENTS = 60
PAYLOAD = "x" * 256 * 1024


# This module's own server (`module_server`): a tail buffer of 8 events, keepalives every second.
MODULE_SERVER_ENV = {"AGENTRUN_TAIL_BUFFER": "8", "AGENTRUN_SSE_KEEPALIVE": "1"}


@pytest.fixture
def limited(module_server: Server) -> Server:
    return module_server


def claimed_run(api: Api) -> tuple[str, int]:
    """A claimed run and the log position of its claim."""
    run = api.create_run()
    api.ok(api.post(f"/runs/{run['id']}/claim", {"runnerId": unique("r"), "leaseMs": 600_000}))
    items = api.ok(api.get("/events", runId=run["id"]))["items"]
    return run["id"], items[-1]["position"]


def headers(last_event_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of('admin')}", "Last-Event-ID": str(last_event_id)}


def test_a_client_that_stops_reading_is_disconnected_and_resumes_with_the_rest(limited: Server) -> None:
    admin = limited.client("admin")
    run_id, claim = claimed_run(admin)
    params = {"runId": run_id, "types": "Run.EventAppended"}
    normal: dict[str, TailResult] = {}
    slow_frames: list[Frame] = []
    with (
        httpx.Client(
            base_url=limited.base_url + "/api/v1", headers=headers(claim), timeout=httpx.Timeout(10)
        ) as client,
        connect_sse(client, "GET", "/events/stream", params=params) as source,
    ):
        frames = source.iter_sse()
        assert next(frames).retry == 1000  # connected
        # A first event read live: the stream has caught up to the head and is joining the shared
        # reader's fan-out (ADR 0024), where a full buffer cuts it off. From here on it does not read.
        marker = {"type": "usage", "payload": {"n": -1}}
        start = admin.ok(admin.post(f"/runs/{run_id}/events", marker), 201)["position"]
        assert next(f for f in frames if f.id).id == str(start)
        reader = threading.Thread(
            target=lambda: normal.setdefault(
                "tail", read_tail(limited.base_url, EVENTS, params=params, last_event_id=start, timeout=60)
            )
        )
        reader.start()
        positions = [
            admin.ok(
                admin.post(f"/runs/{run_id}/events", {"type": "usage", "payload": {"n": n, "blob": PAYLOAD}}),
                201,
            )["position"]
            for n in range(EVENTS)
        ]
        reader.join(timeout=60)
        ended: BaseException | None = None
        try:
            for sse in frames:
                if sse.id and sse.data:
                    slow_frames.append(to_frame(sse))
        except httpx.HTTPError as error:
            ended = error
    assert [f.id for f in normal["tail"].frames] == positions, "the reading client got every event"
    assert not isinstance(ended, httpx.TimeoutException), "the server closed the slow client's stream"
    assert len(slow_frames) < EVENTS, f"cut off after {len(slow_frames)} frames: {ended!r}"
    got = [f.id for f in slow_frames]
    assert got == positions[: len(got)]
    resume = got[-1] if got else start
    rest = read_tail(limited.base_url, EVENTS - len(got), params=params, last_event_id=resume, timeout=30)
    assert [f.id for f in rest.frames] == positions[len(got) :]
    assert all(f.data["data"]["payload"]["n"] == positions.index(f.id) for f in rest.frames)


def test_an_idle_stream_gets_keepalive_comments_and_one_retry(limited: Server) -> None:
    lines: list[str] = []
    auth = {"Authorization": f"Bearer {token_of('admin')}"}
    with (
        httpx.Client(
            base_url=limited.base_url + "/api/v1", headers=auth, timeout=httpx.Timeout(10)
        ) as client,
        client.stream("GET", "/events/stream", params={"types": "Nothing.Matches"}) as response,
    ):
        assert response.status_code == 200
        # Keepalives come every second (AGENTRUN_SSE_KEEPALIVE=1): read until the second one.
        deadline = time.monotonic() + 10
        for line in response.iter_lines():
            lines.append(line)
            if len([k for k in lines if k.startswith(": keepalive")]) >= 2 or time.monotonic() > deadline:
                break
    keepalives = [line for line in lines if line.startswith(": keepalive")]
    retries = [line for line in lines if line.startswith("retry:")]
    assert retries == ["retry: 1000"]
    assert len(keepalives) >= 2, lines
    assert not [line for line in lines if line.startswith(("id:", "data:"))]
