"""The synchronous infer route: fail-fast, a whole answer, streaming passthrough, and shared wakes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.support.server import Server, error_kind, token_of
from tests.support.workers import ChannelClient, register

CHAT = {"model": "m1", "messages": [{"role": "user", "content": "hi"}]}


def answer_tasks(
    server: Server, channel: ChannelClient, worker_id: str, n: int, chunks: list[str] | None = None
) -> None:
    """Answer the next n tasks (and acknowledge wakes) in a thread."""
    api = server.client("worker")

    def run() -> None:
        done = 0
        while done < n:
            name, frame = channel.next(timeout=20)
            if name == "wake":
                api.ok(api.post(f"/wakes/{frame['wakeId']}/result", {"ok": True}))
                continue
            for data in chunks or []:
                api.post(f"/inference-tasks/{frame['taskId']}/chunks", {"workerId": worker_id, "data": data})
            body = {"choices": [{"message": {"content": "hello"}}], "echo": frame["request"]}
            api.ok(
                api.post(f"/inference-tasks/{frame['taskId']}/result", {"workerId": worker_id, "body": body})
            )
            done += 1

    threading.Thread(target=run, daemon=True).start()


def test_infer_without_a_bound_worker_fails_fast_with_503(server: Server) -> None:
    _, llm = register(server)
    client = server.client("client")
    response = client.post(f"/llms/{llm}/infer", CHAT)
    assert response.status_code == 503 and error_kind(response) == "unavailable"
    assert error_kind(client.post("/llms/no-such-llm/infer", CHAT)) == "not-found"


def test_infer_waits_for_the_whole_answer(server: Server) -> None:
    worker_id, llm = register(server)
    channel = ChannelClient(server, worker_id).start()
    try:
        answer_tasks(server, channel, worker_id, 1)
        client = server.client("client")
        body = client.ok(client.post(f"/llms/{llm}/infer", CHAT))
        assert body["choices"][0]["message"]["content"] == "hello" and body["echo"] == CHAT
    finally:
        channel.close()


def test_infer_with_stream_passes_chunks_through_as_server_sent_events(server: Server) -> None:
    worker_id, llm = register(server)
    channel = ChannelClient(server, worker_id).start()
    try:
        answer_tasks(server, channel, worker_id, 1, chunks=['{"delta":"he"}', '{"delta":"llo"}'])
        headers = {"Authorization": f"Bearer {token_of('client')}"}
        with httpx.Client(base_url=server.base_url + "/api/v1", headers=headers, timeout=30) as http:
            response = http.post(f"/llms/{llm}/infer", json={**CHAT, "stream": True})
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data: ")]
        assert data == ['{"delta":"he"}', '{"delta":"llo"}', "[DONE]"]
    finally:
        channel.close()


def test_concurrent_infers_of_a_hibernating_llm_share_one_wake(server: Server) -> None:
    worker_id, llm = register(server, hibernating=True)
    channel = ChannelClient(server, worker_id).start()
    client = server.client("client")
    assert [i["status"] for i in client.ok(client.get("/llms"))["items"] if i["name"] == llm] == [
        "hibernating"
    ]
    wakes: list[Any] = []
    api = server.client("worker")

    def run() -> None:
        done = 0
        while done < 3:
            name, frame = channel.next(timeout=20)
            if name == "wake":
                wakes.append(frame)
                api.ok(api.post(f"/wakes/{frame['wakeId']}/result", {"ok": True}))
                continue
            api.ok(
                api.post(f"/inference-tasks/{frame['taskId']}/result", {"workerId": worker_id, "body": "up"})
            )
            done += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: client.post(f"/llms/{llm}/infer", CHAT), range(3)))
        assert [client.ok(a) for a in answers] == ["up", "up", "up"]
        assert len(wakes) == 1 and wakes[0]["llmName"] == llm
        assert [i["status"] for i in client.ok(client.get("/llms"))["items"] if i["name"] == llm] == [
            "active"
        ]
    finally:
        thread.join(5)
        channel.close()
