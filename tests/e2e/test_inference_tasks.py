"""Inference tasks over HTTP: enqueue, the worker channel, chunks and results, waiters, errors."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import orjson
import pytest
from httpx_sse import connect_sse

from tests.support.server import Api, Server, error_kind, token_of, unique
from tests.support.waiting import wait_for_waiters, waiters_gauge
from tests.support.workers import ChannelClient, register


def enqueue(api: Api, llm: str, **extra: Any) -> dict[str, Any]:
    body = {"llmName": llm, "request": {"messages": [{"role": "user", "content": "hi"}]}, **extra}
    return api.ok(api.post("/inference-tasks", body), 202)


def test_a_task_queued_before_the_worker_binds_is_drained_on_bind(
    server: Server, client: Api, worker_api: Api
) -> None:
    worker_id, llm = register(server)
    task = enqueue(client, llm)
    assert task["status"] == "pending" and task["poolName"] == llm and task["ownerId"] == "client-principal"
    channel = ChannelClient(server, worker_id).start()
    try:
        (frame,) = channel.tasks(1)
        assert frame == {
            "taskId": task["id"],
            "llmName": llm,
            "poolName": llm,
            "model": "m1",
            "request": {"messages": [{"role": "user", "content": "hi"}]},
            "streaming": False,
        }
        claimed = client.ok(client.get(f"/inference-tasks/{task['id']}"))
        assert claimed["status"] == "claimed" and claimed["claimedBy"] == worker_id
        done = worker_api.ok(
            worker_api.post(
                f"/inference-tasks/{task['id']}/result", {"workerId": worker_id, "body": {"answer": 42}}
            )
        )
        assert done["status"] == "completed" and done["responseBody"] == {"answer": 42}
        again = worker_api.ok(
            worker_api.post(
                f"/inference-tasks/{task['id']}/result", {"workerId": worker_id, "body": {"answer": 0}}
            )
        )
        assert again["responseBody"] == {"answer": 42} and again["position"] == done["position"]
    finally:
        channel.close()


def test_a_new_task_is_pushed_live_and_the_long_poll_answers_when_the_result_lands(
    server: Server, client: Api, worker_api: Api
) -> None:
    worker_id, llm = register(server)
    channel = ChannelClient(server, worker_id).start()
    try:
        task = enqueue(client, llm, agentId="agent-7")
        (frame,) = channel.tasks(1)
        assert frame["taskId"] == task["id"]
        result: dict[str, Any] = {}

        def wait() -> None:
            result["response"] = client.get(f"/inference-tasks/{task['id']}", waitMs=10_000)
            result["at"] = time.monotonic()

        parked = waiters_gauge(server) + 1
        waiter = threading.Thread(target=wait)
        waiter.start()
        wait_for_waiters(server, parked)
        assert "response" not in result
        posted = time.monotonic()
        worker_api.ok(
            worker_api.post(f"/inference-tasks/{task['id']}/result", {"workerId": worker_id, "body": "ok"})
        )
        waiter.join(10)
        body = client.ok(result["response"])
        assert body["status"] == "completed" and body["responseBody"] == "ok" and body["agentId"] == "agent-7"
        assert result["at"] - posted < 1.0
    finally:
        channel.close()


def test_wait_ms_answers_the_pending_task_after_the_wait(server: Server, client: Api) -> None:
    _, llm = register(server)
    task = enqueue(client, llm)
    started = time.monotonic()
    body = client.ok(client.get(f"/inference-tasks/{task['id']}", waitMs=300))
    assert body["status"] == "pending" and 0.25 < time.monotonic() - started < 3


def test_only_the_claiming_worker_may_write_chunks_or_the_result(
    server: Server, client: Api, worker_api: Api
) -> None:
    worker_id, llm = register(server)
    channel = ChannelClient(server, worker_id).start()
    try:
        task = enqueue(client, llm)
        channel.tasks(1)
        intruder, _ = register(server)  # another worker of the same principal
        for path, body in (
            ("chunks", {"workerId": intruder, "data": "x"}),
            ("result", {"workerId": intruder, "body": 1}),
        ):
            response = worker_api.post(f"/inference-tasks/{task['id']}/{path}", body)
            assert response.status_code == 409 and error_kind(response) == "stale-attempt"
            # A worker id the principal did not register is not found.
            unknown = worker_api.post(f"/inference-tasks/{task['id']}/{path}", {**body, "workerId": "nobody"})
            assert unknown.status_code == 404 and error_kind(unknown) == "not-found"
        failed = worker_api.ok(
            worker_api.post(
                f"/inference-tasks/{task['id']}/result", {"workerId": worker_id, "error": "upstream 500"}
            )
        )
        assert failed["status"] == "error" and failed["errorMessage"] == "upstream 500"
    finally:
        channel.close()


def test_the_stream_sends_status_chunks_in_order_then_completed(
    server: Server, client: Api, worker_api: Api
) -> None:
    worker_id, llm = register(server)
    channel = ChannelClient(server, worker_id).start()
    try:
        task = enqueue(client, llm, stream=True)
        channel.tasks(1)
        events: list[tuple[str, Any]] = []
        opened = threading.Event()

        def listen() -> None:
            with (
                httpx.Client(
                    base_url=server.base_url + "/api/v1",
                    headers={"Authorization": f"Bearer {token_of('client')}"},
                    timeout=30,
                ) as http,
                connect_sse(http, "GET", f"/inference-tasks/{task['id']}/stream") as source,
            ):
                opened.set()
                for sse in source.iter_sse():
                    events.append((sse.event, orjson.loads(sse.data)))
                    if sse.event in ("completed", "error", "cancelled"):
                        return

        parked = waiters_gauge(server) + 1
        reader = threading.Thread(target=listen)
        reader.start()
        assert opened.wait(10)
        wait_for_waiters(server, parked)  # the stream is subscribed: no chunk can fall before it
        for n in range(5):
            response = worker_api.post(
                f"/inference-tasks/{task['id']}/chunks", {"workerId": worker_id, "data": f"d{n}"}
            )
            assert response.status_code == 204, response.text
        worker_api.ok(
            worker_api.post(
                f"/inference-tasks/{task['id']}/result", {"workerId": worker_id, "body": "d0d1d2d3d4"}
            )
        )
        reader.join(10)
        chunks = [data["data"] for name, data in events if name == "chunk"]
        assert chunks == [f"d{n}" for n in range(5)]
        assert events[-1] == ("completed", {"responseBody": "d0d1d2d3d4"})
        assert ("status", {"status": "running", "claimedBy": worker_id}) in events
        running = client.ok(client.get(f"/inference-tasks/{task['id']}"))
        assert running["streamStartedAt"] is not None
    finally:
        channel.close()


def test_fail_fast_without_a_bound_worker_is_503_and_queues_nothing(server: Server, client: Api) -> None:
    _, llm = register(server)
    response = client.post("/inference-tasks", {"llmName": llm, "request": {}, "failFast": True})
    assert response.status_code == 503 and error_kind(response) == "unavailable"
    page = client.ok(client.get("/inference-tasks", poolName=llm))
    assert page["items"] == []


def test_cancel_is_idempotent_and_the_listing_is_scoped_to_the_owner(server: Server, client: Api) -> None:
    _, llm = register(server)
    task = enqueue(client, llm)
    cancelled = client.ok(client.http.delete(f"/inference-tasks/{task['id']}"))
    assert cancelled["status"] == "cancelled"
    again = client.ok(client.http.delete(f"/inference-tasks/{task['id']}"))
    assert again["position"] == cancelled["position"]
    mine = client.ok(client.get("/inference-tasks", poolName=llm, status="cancelled"))
    assert [t["id"] for t in mine["items"]] == [task["id"]]
    other = server.client("client-b")
    assert other.ok(other.get("/inference-tasks", poolName=llm))["items"] == []
    assert error_kind(other.get(f"/inference-tasks/{task['id']}")) == "not-found"
    operator = server.client("operator")
    assert [t["id"] for t in operator.ok(operator.get("/inference-tasks", poolName=llm))["items"]] == [
        task["id"]
    ]


def test_bad_input_and_unknown_names_answer_the_envelope(
    server: Server, client: Api, worker_api: Api
) -> None:
    assert (
        error_kind(client.post("/inference-tasks", {"llmName": unique("nope"), "request": {}})) == "not-found"
    )
    assert error_kind(client.post("/inference-tasks", {"llmName": "x"})) == "schema-invalid"
    assert error_kind(client.get("/inference-tasks/inf_missing")) == "not-found"
    assert error_kind(client.get("/inference-tasks", status="bogus")) == "schema-invalid"
    assert error_kind(worker_api.post("/inference-tasks", {"llmName": "x", "request": {}})) == "forbidden"
    assert error_kind(client.post("/workers", {"providers": [{"name": "a", "model": "m"}]})) == "forbidden"


@pytest.mark.slow
def test_a_hundred_and_twenty_concurrent_long_polls_all_get_their_results(
    server: Server, client: Api, worker_api: Api
) -> None:
    worker_id, llm = register(server)
    tasks = [enqueue(client, llm, request={"n": n}) for n in range(120)]
    answers: dict[str, Any] = {}

    # A connection of its own per waiter, all from one TLS context: building a context for each
    # of 120 clients took ~6 s of the test's own time.
    tls = httpx.create_ssl_context()
    headers = {"Authorization": f"Bearer {token_of('client')}"}

    def wait(task_id: str) -> None:
        with httpx.Client(
            base_url=server.base_url + "/api/v1", headers=headers, timeout=40, verify=tls
        ) as http:
            response = http.get(f"/inference-tasks/{task_id}", params={"waitMs": 30_000})
        assert response.status_code == 200, response.text
        answers[task_id] = response.json()

    parked = waiters_gauge(server) + len(tasks)
    waiters = [threading.Thread(target=wait, args=(t["id"],)) for t in tasks]
    for w in waiters:
        w.start()
    wait_for_waiters(server, parked, timeout=30)
    # With more waiters than handler threads parked, the server still answers other requests.
    assert client.ok(client.get(f"/inference-tasks/{tasks[0]['id']}"))["status"] == "pending"
    channel = ChannelClient(server, worker_id).start()
    try:
        for frame in channel.tasks(120):
            body = {"workerId": worker_id, "body": frame["request"]}
            worker_api.ok(worker_api.post(f"/inference-tasks/{frame['taskId']}/result", body))
        for w in waiters:
            w.join(30)
    finally:
        channel.close()
    assert [answers[t["id"]]["responseBody"] for t in tasks] == [{"n": n} for n in range(120)]


def test_the_stream_of_an_already_terminal_task_sends_its_terminal_event_at_once(
    server: Server, client: Api
) -> None:
    _, llm = register(server)
    task = enqueue(client, llm)
    client.ok(client.http.delete(f"/inference-tasks/{task['id']}"))
    headers = {"Authorization": f"Bearer {token_of('client')}"}
    with (
        httpx.Client(base_url=server.base_url + "/api/v1", headers=headers, timeout=10) as http,
        connect_sse(http, "GET", f"/inference-tasks/{task['id']}/stream") as source,
    ):
        events = [(sse.event, orjson.loads(sse.data)) for sse in source.iter_sse()]
    assert events == [("cancelled", {})]
    other = server.client("client-b")
    assert error_kind(other.get(f"/inference-tasks/{task['id']}/stream")) == "not-found"
