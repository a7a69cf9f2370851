"""A waiter whose client goes away stops waiting at once: the server's waiter gauge drops."""

from __future__ import annotations

import socket
import threading

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
    counted = threading.Event()  # set once the gauge shows every waiter: then each client goes away

    def long_poll(n: int) -> None:
        # A 60 s wait the client abandons once it is counted: the server must notice and let go.
        # A plain socket, so that the test can close the connection while the answer is still owed.
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=20) as conn:
            path = f"/api/v1/inference-tasks/{tasks[n]['id']}?waitMs=60000"
            request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
            request += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            conn.sendall(request.encode())
            counted.wait(20)

    def stream(n: int) -> None:
        with connect_sse(clients[n], "GET", f"/inference-tasks/{tasks[n]['id']}/stream") as source:
            counted.wait(20)
            source.response.close()

    kinds = [long_poll if n % 2 else stream for n in range(WAITERS)]
    threads = [threading.Thread(target=kind, args=(n,), daemon=True) for n, kind in enumerate(kinds)]
    for t in threads:
        t.start()
    try:
        assert wait_for(lambda: waiters_gauge(server) >= before + WAITERS), waiters_gauge(server)
        counted.set()
        for t in threads:
            t.join(10)
        # Well before the 60 s the long-polls asked for, every waiter is gone.
        assert wait_for(lambda: waiters_gauge(server) <= before, 5), waiters_gauge(server)
    finally:
        counted.set()
        for c in clients:
            c.close()
