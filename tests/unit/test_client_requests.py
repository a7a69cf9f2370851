"""The client speaks the contract: paths, camelCase bodies, query parameters, tokens, SSE frames."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from interfaces.client import AgentRunClient


class Recorder:
    """Answers every request with a fixed body and remembers what was asked."""

    def __init__(self, answer: Any = None, status: int = 200, sse: str | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer, self.status, self.sse = answer, status, sse

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.sse is not None:
            return httpx.Response(200, text=self.sse, headers={"content-type": "text/event-stream"})
        return httpx.Response(self.status, json=self.answer if self.answer is not None else {})

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self) -> Any:
        return orjson.loads(self.last.content)


def client_with(recorder: Recorder) -> AgentRunClient:
    return AgentRunClient("http://agentrun.test/", "secret-token", transport=httpx.MockTransport(recorder))


def test_requests_carry_the_token_and_the_api_prefix() -> None:
    recorder = Recorder({"id": "run-1"})
    client_with(recorder).runs.get("run-1")
    assert recorder.last.url.path == "/api/v1/runs/run-1"
    assert recorder.last.headers["authorization"] == "Bearer secret-token"


def test_health_is_outside_the_api_prefix() -> None:
    recorder = Recorder({"ready": True})
    assert client_with(recorder).healthz() == {"ready": True}
    assert recorder.last.url.path == "/healthz"


def test_bodies_are_camel_case_and_leave_out_unset_fields() -> None:
    recorder = Recorder({})
    client = client_with(recorder)
    client.runs.create("t", "p", "codex", session_ref={"sessionId": "s-1"})
    assert recorder.body() == {
        "tenantId": "t",
        "projectId": "p",
        "backendProfile": "codex",
        "sessionRef": {"sessionId": "s-1"},
    }
    client.runs.finish("run-1", "failed", failure_kind="crash", claim_epoch=2)
    assert recorder.body() == {"terminalStatus": "failed", "failureKind": "crash", "claimEpoch": 2}
    client.inference.post_result("task-1", "w-1", error="boom")
    assert recorder.last.url.path == "/api/v1/inference-tasks/task-1/result"
    assert recorder.body() == {"workerId": "w-1", "error": "boom"}
    client.workers.put_state("w-1", {"externalMetadata": {"a": None}})
    assert recorder.last.method == "PUT" and recorder.body() == {"externalMetadata": {"a": None}}


def test_query_parameters_are_camel_case_and_unset_ones_are_left_out() -> None:
    recorder = Recorder({"items": [], "count": 0, "nextCursor": None})
    client = client_with(recorder)
    client.sessions.list(state="unread", reader_id="me")
    assert dict(recorder.last.url.params) == {"state": "unread", "readerId": "me"}
    client.events.list(after=5, types=["Run.Claimed", "Run.Finished"])
    assert dict(recorder.last.url.params) == {"after": "5", "types": "Run.Claimed,Run.Finished"}


def test_pages_are_followed_to_the_end() -> None:
    pages = iter(
        [
            {"items": [{"seq": 1}, {"seq": 2}], "count": 2, "nextCursor": "c2"},
            {"items": [{"seq": 3}], "count": 1, "nextCursor": None},
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(pages))

    client = AgentRunClient("http://agentrun.test", "t", transport=httpx.MockTransport(handler))
    assert [e["seq"] for e in client.runs.iter_events("run-1")] == [1, 2, 3]


def test_a_stream_yields_typed_events_with_decoded_data_and_ids() -> None:
    frames = (
        "retry: 1000\n\n"
        ": keepalive\n\n"
        'id: 7\nevent: Run.Claimed\ndata: {"position": 7}\n\n'
        'event: task\ndata: {"taskId": "t-1"}\n\n'
    )
    recorder = Recorder(sse=frames)
    events = list(client_with(recorder).events.stream(last_event_id="6", types=["Run.Claimed"]))
    assert recorder.last.headers["last-event-id"] == "6"
    assert recorder.last.headers["accept"] == "text/event-stream"
    # The bare `retry:` frame and the keep-alive comment are not events.
    assert [(e.event, e.id, e.data) for e in events] == [
        ("Run.Claimed", "7", {"position": 7}),
        ("task", "7", {"taskId": "t-1"}),  # SSE keeps the last id until a new one is sent
    ]
