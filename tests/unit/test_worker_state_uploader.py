"""WorkerStateUploader: one request in flight, one pending patch, merge rules, backoff, retry, close."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from domain.merge_patch import combine_patches, merge_state
from interfaces.client import AgentRunClient, WorkerStateUploader

WAIT = 5.0


class ManualClock:
    """A controlled clock: `sleep` records the delay and, when held, blocks until the test releases it."""

    def __init__(self, hold: bool = False) -> None:
        self.delays: list[float] = []
        self.now = 0.0
        self.hold = hold
        self.sleeping = threading.Semaphore(0)
        self.released = threading.Semaphore(0)

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds
        if self.hold:
            self.sleeping.release()
            assert self.released.acquire(timeout=WAIT)

    def wait_until_sleeping(self) -> None:
        assert self.sleeping.acquire(timeout=WAIT), "the uploader never went to sleep"

    def release(self) -> None:
        self.released.release()


class FakeServer:
    """A worker-state route behind `httpx.MockTransport`: records bodies and concurrency, fails or holds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []
        self.state: dict[str, Any] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.failures_left = 0
        self.fail_with: Callable[[], httpx.Response] = lambda: unavailable()
        self.hold = False
        self.entered = threading.Semaphore(0)
        self.gate = threading.Semaphore(0)

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "PUT" and request.url.path == "/api/v1/workers/w-1/state"
        body = orjson.loads(request.content)
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.bodies.append(body)
        try:
            self.entered.release()
            if self.hold:
                assert self.gate.acquire(timeout=WAIT)
            with self.lock:
                if self.failures_left > 0:
                    self.failures_left -= 1
                    return self.fail_with()
                self.state = merge_state(self.state, body)
                return httpx.Response(200, json=self.state)
        finally:
            with self.lock:
                self.in_flight -= 1

    def wait_entered(self) -> None:
        assert self.entered.acquire(timeout=WAIT), "no request reached the server"


def unavailable() -> httpx.Response:
    envelope = {"error": {"kind": "unavailable", "message": "database down", "details": {}}}
    return httpx.Response(503, json=envelope)


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(server: FakeServer) -> Iterator[AgentRunClient]:
    with AgentRunClient("http://agentrun.test", "t", transport=httpx.MockTransport(server.handle)) as c:
        yield c


def uploader_for(client: AgentRunClient, clock: ManualClock, **options: Any) -> WorkerStateUploader:
    options = {"base": 1.0, "cap": 10.0, "jitter": 0.0, **options}
    return WorkerStateUploader(
        lambda patch: client.workers.put_state("w-1", patch), sleep=clock.sleep, **options
    )


def test_patches_sent_while_one_is_in_flight_coalesce_into_one_pending(
    server: FakeServer, client: AgentRunClient
) -> None:
    server.hold = True
    uploader = uploader_for(client, ManualClock())
    uploader.enqueue({"workerStatus": "starting"})
    server.wait_entered()
    uploader.enqueue({"workerStatus": "idle", "externalMetadata": {"a": 1, "b": 2}})
    uploader.enqueue({"externalMetadata": {"b": None, "c": 3}})
    uploader.enqueue({"workerStatus": "busy", "internalMetadata": {"k": 1}})
    assert uploader.in_flight
    assert uploader.pending == {
        "workerStatus": "busy",
        "externalMetadata": {"a": 1, "b": None, "c": 3},
        "internalMetadata": {"k": 1},
    }
    server.gate.release()
    server.wait_entered()
    server.gate.release()
    assert uploader.flush(WAIT)
    assert server.bodies == [
        {"workerStatus": "starting"},
        {
            "workerStatus": "busy",
            "externalMetadata": {"a": 1, "b": None, "c": 3},
            "internalMetadata": {"k": 1},
        },
    ]
    assert server.max_in_flight == 1
    assert server.state == {
        "workerStatus": "busy",
        "externalMetadata": {"a": 1, "c": 3},
        "internalMetadata": {"k": 1},
    }
    uploader.close(WAIT)


def test_enqueue_returns_at_once_while_the_server_is_stuck(
    server: FakeServer, client: AgentRunClient
) -> None:
    server.hold = True
    uploader = uploader_for(client, ManualClock())
    uploader.enqueue({"workerStatus": "s0"})
    server.wait_entered()
    started = time.monotonic()
    for i in range(1000):
        uploader.enqueue({"workerStatus": f"s{i + 1}", "externalMetadata": {f"k{i % 7}": i}})
    assert time.monotonic() - started < 1.0
    assert uploader.pending is not None and uploader.pending["workerStatus"] == "s1000"
    uploader.close(0)
    server.gate.release()


def test_the_server_ends_in_the_state_of_every_patch_applied_in_order(
    server: FakeServer, client: AgentRunClient
) -> None:
    """Whatever the timing, coalescing must not change the outcome: random patches, real thread."""
    rng = random.Random(7)
    keys = ["a", "b", "c", "d"]

    def random_patch() -> dict[str, Any]:
        patch: dict[str, Any] = {}
        if rng.random() < 0.5:
            patch["workerStatus"] = rng.choice(["idle", "busy", "draining"])
        for field in ("externalMetadata", "internalMetadata"):
            if rng.random() < 0.7:
                patch[field] = {
                    k: rng.choice([None, 1, "x", {"deep": rng.random()}]) for k in rng.sample(keys, 2)
                }
        return patch

    uploader = uploader_for(client, ManualClock())
    expected: dict[str, Any] = {}
    for _ in range(300):
        patch = random_patch()
        expected = merge_state(expected, patch)
        uploader.enqueue(patch)
        if rng.random() < 0.05:
            time.sleep(0.001)
    assert uploader.flush(WAIT)
    assert server.state == expected
    assert server.max_in_flight == 1
    assert len(server.bodies) < 300  # coalescing happened
    uploader.close(WAIT)


def test_backoff_doubles_from_base_and_stops_at_the_cap(server: FakeServer, client: AgentRunClient) -> None:
    server.failures_left = 6
    clock = ManualClock()
    uploader = uploader_for(client, clock, base=1.0, cap=10.0, jitter=0.0)
    uploader.enqueue({"workerStatus": "idle"})
    assert uploader.flush(WAIT)
    assert clock.delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert len(server.bodies) == 7 and server.state == {"workerStatus": "idle"}
    assert uploader.sent == 1 and uploader.failures == 0
    uploader.close(WAIT)


def test_jitter_adds_a_random_fraction_of_its_range_to_each_delay(
    server: FakeServer, client: AgentRunClient
) -> None:
    server.failures_left = 3
    clock = ManualClock()
    fractions = iter([0.25, 0.5, 1.0])
    uploader = uploader_for(
        client, clock, base=0.1, cap=0.3, jitter=2.0, random_fraction=lambda: next(fractions)
    )
    uploader.enqueue({"workerStatus": "idle"})
    assert uploader.flush(WAIT)
    assert clock.delays == pytest.approx([0.1 + 0.5, 0.2 + 1.0, 0.3 + 2.0])
    uploader.close(WAIT)


def test_connection_errors_are_retried_like_server_outages(
    server: FakeServer, client: AgentRunClient
) -> None:
    server.failures_left = 2

    def refuse() -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    server.fail_with = refuse
    clock = ManualClock()
    uploader = uploader_for(client, clock)
    uploader.enqueue({"workerStatus": "idle"})
    assert uploader.flush(WAIT)
    assert clock.delays == [1.0, 2.0] and server.state == {"workerStatus": "idle"}
    uploader.close(WAIT)


def test_a_retry_absorbs_the_patches_that_arrived_while_it_waited(
    server: FakeServer, client: AgentRunClient
) -> None:
    server.failures_left = 1
    clock = ManualClock(hold=True)
    uploader = uploader_for(client, clock)
    uploader.enqueue({"workerStatus": "idle", "externalMetadata": {"a": 1, "b": 2}})
    clock.wait_until_sleeping()
    uploader.enqueue({"externalMetadata": {"a": None}})
    uploader.enqueue({"workerStatus": "busy", "externalMetadata": {"c": 3}})
    assert uploader.pending == {"workerStatus": "busy", "externalMetadata": {"a": None, "c": 3}}
    clock.release()
    assert uploader.flush(WAIT)
    assert server.bodies[1] == {"workerStatus": "busy", "externalMetadata": {"a": None, "b": 2, "c": 3}}
    assert len(server.bodies) == 2 and server.max_in_flight == 1
    assert server.state == {"workerStatus": "busy", "externalMetadata": {"b": 2, "c": 3}}
    uploader.close(WAIT)


def test_close_drops_the_pending_patch_and_abandons_the_retry(
    server: FakeServer, client: AgentRunClient
) -> None:
    server.failures_left = 1
    clock = ManualClock(hold=True)
    uploader = uploader_for(client, clock)
    uploader.enqueue({"workerStatus": "idle"})
    clock.wait_until_sleeping()
    uploader.enqueue({"workerStatus": "busy"})
    uploader.close()
    assert uploader.pending is None
    clock.release()
    uploader.close(WAIT)
    uploader.enqueue({"workerStatus": "ignored"})
    assert uploader.pending is None and uploader.closed
    assert not uploader.flush(0.1)
    assert len(server.bodies) == 1 and server.state == {}


def test_close_interrupts_the_default_backoff_sleep(server: FakeServer, client: AgentRunClient) -> None:
    server.failures_left = 1
    uploader = WorkerStateUploader(
        lambda p: client.workers.put_state("w-1", p), base=60.0, cap=60.0, jitter=0
    )
    uploader.enqueue({"workerStatus": "idle"})
    server.wait_entered()
    started = time.monotonic()
    uploader.close(WAIT)
    assert time.monotonic() - started < 2.0
    assert len(server.bodies) == 1


def test_a_patch_the_server_refuses_as_invalid_is_dropped_not_retried(
    server: FakeServer, client: AgentRunClient
) -> None:
    server.failures_left = 1
    server.fail_with = lambda: httpx.Response(
        422, json={"error": {"kind": "schema-invalid", "message": "bad", "details": {}}}
    )
    clock = ManualClock()
    uploader = uploader_for(client, clock)
    uploader.enqueue({"workerStatus": "x" * 10})
    assert uploader.flush(WAIT)
    uploader.enqueue({"workerStatus": "idle"})
    assert uploader.flush(WAIT)
    assert clock.delays == [] and server.state == {"workerStatus": "idle"}
    uploader.close(WAIT)


def test_a_send_function_returning_false_counts_as_a_failure() -> None:
    results = iter([False, False, True])
    seen: list[dict[str, Any]] = []
    clock = ManualClock()

    def send(patch: dict[str, Any]) -> bool:
        seen.append(patch)
        return next(results)

    uploader = WorkerStateUploader(send, base=0.5, cap=5, jitter=0, sleep=clock.sleep)
    uploader.enqueue({"workerStatus": "idle"})
    assert uploader.flush(WAIT)
    assert clock.delays == [0.5, 1.0] and len(seen) == 3
    uploader.close(WAIT)


def test_combined_patches_are_what_the_uploader_sends() -> None:
    """The uploader uses the domain's combine rule, so client and server agree on the result."""
    first = {"externalMetadata": {"a": 1}}
    second = {"externalMetadata": {"a": None, "b": 2}, "workerStatus": "busy"}
    assert combine_patches(first, second) == {"externalMetadata": {"a": None, "b": 2}, "workerStatus": "busy"}
