"""A waiter whose client goes away stops waiting at once: the server's waiter gauge drops."""

from __future__ import annotations

import threading
import time

import httpx
from httpx_sse import connect_sse

from tests.support.server import Api, Server, token_of
from tests.support.waiting import wait_for, waiters_gauge
from tests.support.workers import register

WAITERS = 6


def test_long_polls_and_streams_whose_clients_disconnect_stop_waiting(server: Server) -> None:
    _, llm = register(server)  # registered, never bound: nothing will ever answer these tasks
    api: Api = server.client("client")
    body = {"llmName": llm, "request": {}}
    tasks = [api.ok(api.post("/inference-tasks", body), 202) for _ in range(WAITERS)]
    before = waiters_gauge(server)
    headers = {"Authorization": f"Bearer {token_of('client')}"}
    clients = [httpx.Client(base_url=server.base_url + "/api/v1", headers=headers) for _ in range(WAITERS)]
    opened = threading.Barrier(WAITERS + 1, timeout=20)

    def long_poll(n: int) -> None:
        # A 60 s wait the client abandons after 1.5 s: the server must notice and let go.
        try:
            opened.wait()
            clients[n].get(f"/inference-tasks/{tasks[n]['id']}", params={"waitMs": 60_000}, timeout=1.5)
        except httpx.TimeoutException:
            pass

    def stream(n: int) -> None:
        with connect_sse(clients[n], "GET", f"/inference-tasks/{tasks[n]['id']}/stream") as source:
            opened.wait()
            time.sleep(1.5)
            source.response.close()

    kinds = [long_poll if n % 2 else stream for n in range(WAITERS)]
    threads = [threading.Thread(target=kind, args=(n,), daemon=True) for n, kind in enumerate(kinds)]
    for t in threads:
        t.start()
    opened.wait()
    try:
        assert wait_for(lambda: waiters_gauge(server) >= before + WAITERS), waiters_gauge(server)
        for t in threads:
            t.join(10)
        # Well before the 60 s the long-polls asked for, every waiter is gone.
        assert wait_for(lambda: waiters_gauge(server) <= before, 5), waiters_gauge(server)
    finally:
        for c in clients:
            c.close()
