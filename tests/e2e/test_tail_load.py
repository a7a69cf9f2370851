"""On PostgreSQL: 32 writers append 20,000 events while a tail follows; it sees each position once.

The same with the tail's database connections killed over and over, and with the server process
restarted mid-way (the client resumes with `Last-Event-ID`). Afterwards the views of each store
equal a rebuild (`agentrun projections rebuild --verify`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from infrastructure.log_reader import TAIL_APPLICATION_NAME
from tests.support.postgres import terminate_backends, throwaway_database
from tests.support.server import Api, Server, unique
from tests.support.tail import Frame, follow
from tests.support.verify import verify_views

# Timing-sensitive load: kept on one xdist worker with the other heavy tests (ADR 0041).
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("heavy-b")]

WRITERS = 32
EVENTS = 20_000
BATCH = 25


def retry(action: Callable[[], httpx.Response], status: int, deadline: float) -> Any:
    """Post until the server answers `status` (it may be restarting)."""
    while True:
        try:
            response = action()
            if response.status_code == status:
                return response.json()
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the server did not come back in time")
        time.sleep(0.1)


def write(api: Api, events: int, deadline: float) -> None:
    run = retry(
        lambda: api.post("/runs", {"tenantId": "tenant-a", "projectId": "load", "backendProfile": "codex"}),
        201,
        deadline,
    )
    retry(
        lambda: api.post(f"/runs/{run['id']}/claim", {"runnerId": unique("r"), "leaseMs": 600_000}),
        200,
        deadline,
    )
    for start in range(0, events, BATCH):
        batch = [{"type": "usage", "payload": {"n": n}} for n in range(start, min(start + BATCH, events))]
        retry(
            lambda batch=batch: api.post(f"/runs/{run['id']}/events:batch", {"events": batch}), 201, deadline
        )


def log_positions(api: Api, after: int) -> list[int]:
    found: list[int] = []
    while True:
        page = api.ok(api.get("/events", after=after, limit=500))
        found += [item["position"] for item in page["items"]]
        if page["nextAfter"] is None:
            return found
        after = page["nextAfter"]


def load_while_tailing(server: Server, during: Callable[[threading.Event], None] | None = None) -> None:
    """32 writers append EVENTS events; returns what a tail following from the start saw."""
    admin = server.client("admin")
    head = max((r["headPosition"] for r in admin.ok(admin.get("/projections"))), default=0)
    done = threading.Event()
    final: list[int] = []
    seen: list[Frame] = []

    def stop(frames: list[Frame]) -> bool:
        return bool(final) and bool(frames) and frames[-1].id >= final[0]

    seen_live: list[Frame] = []

    def stop_and_keep(frames: list[Frame]) -> bool:
        if frames:
            seen_live[:] = frames[-1:]
        return stop(frames)

    def run_tail() -> None:
        seen.extend(
            follow(server.base_url, stop_and_keep, after=head, timeout=150, on_disconnect=disconnects.append)
        )

    disconnects: list[BaseException] = []
    tail = threading.Thread(target=run_tail)
    tail.start()
    side = threading.Thread(target=during, args=(done,)) if during else None
    if side:
        side.start()
    deadline = time.monotonic() + 120
    per_writer = EVENTS // WRITERS
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(lambda _: write(server.client("admin"), per_writer, deadline), range(WRITERS)))
    done.set()
    if side:
        side.join()
    final.append(max(r["headPosition"] for r in admin.ok(admin.get("/projections"))))
    tail.join(timeout=60)
    if tail.is_alive():
        logs = "".join(p.read_text()[-3000:] for p in server.data_dir.glob("server-*.log"))
        got = seen_live[-1].id if seen_live else None
        raise AssertionError(f"tail not at {final[0]} (at {got}, {disconnects[-3:]}); logs:\n{logs}")
    got = [f.id for f in seen]
    # The server appends events of its own at any time (its sweeper marks the silent workers of
    # earlier tests inactive: Worker.Unbound, Worker.WentInactive), so the log may hold positions
    # after the head read once the writers returned: compare up to where the tail stopped.
    expected = [p for p in log_positions(admin, head) if p <= got[-1]]
    assert len(expected) >= EVENTS
    assert got == expected, f"{len(got)} frames vs {len(expected)} positions; first difference " + str(
        next(((i, a, b) for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), None)
    )


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    with throwaway_database() as url:
        srv = Server("postgres", tmp_path, database_url=url).start()
        yield srv
        srv.stop()


def test_tail_sees_every_position_once_in_order_while_32_writers_append(server: Server) -> None:
    if server.backend != "postgres":
        pytest.skip("the load test runs on PostgreSQL")
    load_while_tailing(server)


def test_tail_survives_its_database_connections_being_killed(own_server: Server) -> None:
    kills: list[int] = []

    def kill(done: threading.Event) -> None:
        while not done.wait(0.3):
            try:
                kills.append(terminate_backends(str(own_server.database_url), TAIL_APPLICATION_NAME))
            except psycopg.OperationalError:  # PostgreSQL is shared: at its connection limit, try again
                continue

    load_while_tailing(own_server, kill)
    assert sum(kills) >= 3
    own_server.stop()  # frees its connections; the views are verified from the store alone
    verified = verify_views(own_server)
    assert verified.returncode == 0, verified.stdout + verified.stderr[-3000:]


def test_tail_resumes_by_last_event_id_across_a_server_restart(own_server: Server) -> None:
    def restart(done: threading.Event) -> None:
        time.sleep(2.0)
        own_server.restart()

    load_while_tailing(own_server, restart)
    own_server.stop()  # frees its connections; the views are verified from the store alone
    verified = verify_views(own_server)
    assert verified.returncode == 0, verified.stdout + verified.stderr[-3000:]
