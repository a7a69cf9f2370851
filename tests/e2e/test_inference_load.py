"""Load on PostgreSQL: 4 workers bound to one pool drain 2,000 tasks posted by 8 concurrent callers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import throwaway_database
from tests.support.server import Server, unique
from tests.support.workers import ChannelClient, register

# Timing-sensitive load: kept on one xdist worker with the other heavy tests (ADR 0041).
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("heavy-b")]

TASKS = 2000
CALLERS = 8
WORKERS = 4


class EchoWorker:
    """Answers every task it receives with its request, and counts what it got."""

    def __init__(self, server: Server, worker_id: str) -> None:
        self.worker_id = worker_id
        self.channel = ChannelClient(server, worker_id).start()
        self.api = server.client("worker")
        self.received: list[str] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                name, frame = self.channel.next(timeout=0.2)
            except Exception:  # noqa: BLE001 - queue.Empty: look again
                continue
            if name != "task":
                continue
            self.received.append(frame["taskId"])
            body = {"workerId": self.worker_id, "body": {"echo": frame["request"]}}
            self.api.ok(self.api.post(f"/inference-tasks/{frame['taskId']}/result", body))

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.channel.close()


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with throwaway_database() as url:
        srv = Server("postgres", Path(tmp_path_factory.mktemp("load")), database_url=url).start()
        yield srv
        srv.stop()


def test_four_workers_drain_two_thousand_tasks_from_eight_callers_exactly_once(pg_server: Server) -> None:
    pool = unique("pool")
    ids = [register(pg_server, pool=pool, llm=f"{pool}-{n}") for n in range(WORKERS)]
    workers = [EchoWorker(pg_server, worker_id) for worker_id, _ in ids]
    llms = [llm for _, llm in ids]

    def caller(n: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        api = pg_server.client("client")
        posted = []
        for i in range(TASKS // CALLERS):
            request = {"caller": n, "i": i}
            posted.append(
                api.ok(api.post("/inference-tasks", {"llmName": llms[i % WORKERS], "request": request}), 202)
            )
        return [(task, api.ok(api.get(f"/inference-tasks/{task['id']}", waitMs=60_000))) for task in posted]

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(CALLERS) as pool_:
            results = [pair for chunk in pool_.map(caller, range(CALLERS)) for pair in chunk]
    finally:
        elapsed = time.monotonic() - started
        for w in workers:
            w.stop()
    assert len(results) == TASKS
    for task, answer in results:
        assert answer["status"] == "completed", answer
        assert answer["responseBody"] == {"echo": task["requestBody"]}
    delivered = Counter(t for w in workers for t in w.received)
    assert len(delivered) == TASKS and set(delivered.values()) == {1}
    per_worker = [len(w.received) for w in workers]
    assert min(per_worker) > TASKS / WORKERS / 4, per_worker  # spread, not one worker taking all
    print(f"\n{TASKS} tasks in {elapsed:.1f}s ({TASKS / elapsed:.0f} tasks/s), per worker {per_worker}")
