"""BackendTracker: advance only after the change was persisted, so a failed write is retried."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from interfaces.client import AgentRunClient, BackendTracker, Unavailable


class Store:
    """A persist function that records its calls and fails while told to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.failing = False

    def __call__(self, backend_id: str, cache_key: str | None) -> None:
        self.calls.append((backend_id, cache_key))
        if self.failing:
            raise Unavailable("database down", status=503)


def test_a_resolved_backend_is_persisted_then_becomes_current() -> None:
    store = Store()
    tracker = BackendTracker(store)
    assert tracker.current() is None
    assert tracker.on_event("gpu-1", "ck") is True
    assert store.calls == [("gpu-1", "ck")] and tracker.current() == "gpu-1"


def test_the_same_backend_again_persists_nothing() -> None:
    store = Store()
    tracker = BackendTracker(store, initial="gpu-1")
    assert tracker.on_event("gpu-1") is False
    assert store.calls == [] and tracker.current() == "gpu-1"


def test_a_failing_persist_leaves_current_unchanged_and_the_next_event_retries_it() -> None:
    store = Store()
    tracker = BackendTracker(store, initial="gpu-1")
    store.failing = True
    assert tracker.on_event("gpu-2") is False
    assert tracker.current() == "gpu-1"
    store.failing = False
    assert tracker.on_event("gpu-2") is True
    assert store.calls == [("gpu-2", None), ("gpu-2", None)]
    assert tracker.current() == "gpu-2"


def test_a_switch_back_is_persisted_too() -> None:
    store = Store()
    tracker = BackendTracker(store, initial="a")
    tracker.on_event("b")
    tracker.on_event("a")
    assert [c[0] for c in store.calls] == ["b", "a"] and tracker.current() == "a"


class FakeBackendRoutes:
    """`GET`/`POST /runs/{id}/backend` behind `httpx.MockTransport`, answering 503 while `down`."""

    def __init__(self, current: str | None) -> None:
        self.current = current
        self.down = False
        self.posts: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/runs/run-1/backend"
        if request.method == "GET":
            return httpx.Response(
                200, json={"runId": "run-1", "current": self.current, "switches": 0, "history": []}
            )
        body = orjson.loads(request.content)
        self.posts.append(body)
        if self.down:
            return httpx.Response(
                503, json={"error": {"kind": "unavailable", "message": "down", "details": {}}}
            )
        previous, self.current = self.current, body["backendId"]
        changed = previous != self.current
        return httpx.Response(
            200, json={"runId": "run-1", "current": self.current, "previous": previous, "changed": changed}
        )


@pytest.fixture
def routes() -> FakeBackendRoutes:
    return FakeBackendRoutes(current="gpu-1")


def test_for_run_starts_from_the_stored_backend_and_persists_through_the_api(
    routes: FakeBackendRoutes,
) -> None:
    with AgentRunClient("http://agentrun.test", "t", transport=httpx.MockTransport(routes.handle)) as client:
        tracker = BackendTracker.for_run(client, "run-1")
        assert tracker.current() == "gpu-1"
        routes.down = True
        assert tracker.on_event("gpu-2", "prefix-1") is False
        assert tracker.current() == "gpu-1" and routes.current == "gpu-1"
        routes.down = False
        assert tracker.on_event("gpu-2", "prefix-1") is True
        assert tracker.current() == "gpu-2" == routes.current
        assert routes.posts == [{"backendId": "gpu-2", "cacheKey": "prefix-1"}] * 2
