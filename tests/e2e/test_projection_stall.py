"""Through the real server and CLI: a poison event stalls one projection (ADR 0031); the others and
their reads go on, reads that need it answer 503 naming it, `projections skip` resumes it, and
`projections rebuild --verify` finds no difference."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infrastructure.event_log import EventLog, postgres_env, sqlite_env
from interfaces.cli import main
from tests.support.poison import POISON_TYPE, POISONED, store_poison
from tests.support.postgres import throwaway_database
from tests.support.server import Api, Server, error_kind
from tests.support.verify import verify_views
from tests.support.waiting import wait_for

FAST = {
    "AGENTRUN_PROJECTION_RETRY_BACKOFF": "0.01",
    "AGENTRUN_PROJECTION_MAX_TRIES": "3",
    "AGENTRUN_POLL_INTERVAL": "0.1",
}


@pytest.fixture
def own_server(backend: str, tmp_path: Path) -> Iterator[Server]:
    """A server of its own: a stalled projection must not disturb the shared one."""
    if backend == "sqlite":
        srv = Server("sqlite", tmp_path, extra_env=FAST).start()
        yield srv
        srv.stop()
        return
    with throwaway_database() as url:
        srv = Server("postgres", tmp_path, database_url=url, extra_env=FAST).start()
        yield srv
        srv.stop()


def cli_here(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """The same CLI in this process (no interpreter start): its exit code, stderr and stdout."""
    with monkeypatch.context() as env:
        env.setenv("AGENTRUN_DATA_DIR", str(server.data_dir))
        env.setenv("AGENTRUN_AUTH", "disabled")
        env.delenv("DATABASE_URL", raising=False)
        if server.database_url:
            env.setenv("DATABASE_URL", server.database_url)
        capsys.readouterr()
        code = main(["projections", *args])
    out = capsys.readouterr()
    return code, out.err, out.out


def poison_the_log(server: Server, task_id: str) -> int:
    """Store the poison straight into the server's store, as a buggy writer would."""
    if server.database_url:
        log = EventLog(postgres_env(server.database_url, 2))
    else:
        log = EventLog(sqlite_env(server.data_dir / "events.sqlite3"))
    try:
        return store_poison(log, task_id, "tenant-a")
    finally:
        log.close()


def new_task(api: Api, n: int) -> dict[str, Any]:
    body = {"tenantId": "tenant-a", "projectId": "p", "queue": "stall", "lane": "l", "priority": n}
    return dict(api.ok(api.post("/queue/tasks", {**body, "payload": {}}), 201))


def projections(api: Api) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in api.ok(api.get("/projections"))}


def until(check: Any, timeout: float = 15) -> Any:
    """Poll the server's own answer until `check` gives something true; that answer."""
    answers: list[Any] = []
    reached = wait_for(lambda: answers.append(check()) or answers[-1], timeout, every=0.05)
    assert reached, "the server did not get there in time"
    return answers[-1]


def test_a_poison_event_stalls_one_projection_and_skip_resumes_it(
    own_server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = own_server.client("admin")
    before = new_task(api, 1)
    poison = poison_the_log(own_server, before["id"])
    after = new_task(api, 2)
    run = api.create_run()

    rows = until(lambda: (r := projections(api))[POISONED]["status"] == "stalled" and r)
    # The head is read after the positions: never behind a write that has returned.
    assert rows[POISONED]["headPosition"] >= run["position"]
    stall = rows[POISONED]["error"]
    assert stall["position"] == poison and stall["eventType"] == POISON_TYPE
    assert rows[POISONED]["position"] < poison and rows[POISONED]["lag"] > 0
    others = {name: row for name, row in rows.items() if name != POISONED}
    assert all(row["status"] != "stalled" and row["error"] is None for row in others.values())

    # Reads of the other projections answer; reads of the stalled one answer 503 at once, naming it.
    head = run["position"]
    api.ok(api.get("/queue/stats", queue="stall", minPosition=head))
    api.ok(api.get("/sessions", minPosition=head))
    started = time.monotonic()
    response = api.get("/queue/tasks", queue="stall", minPosition=head)
    assert response.status_code == 503 and error_kind(response) == "unavailable", response.text
    assert response.json()["error"]["details"] == {"projection": POISONED, "position": poison}
    assert time.monotonic() - started < 2.5

    wrong = ("skip", POISONED, "--position", str(poison - 1), "--reason", "not that one")
    refused = cli_here(own_server, monkeypatch, capsys, *wrong)
    assert refused[0] == 1 and f"stalled at position {poison}" in refused[1]
    unknown = cli_here(own_server, monkeypatch, capsys, "retry", "no_such_view")
    assert unknown[0] == 1 and "no projection named" in unknown[1]

    skip = ("skip", POISONED, "--position", str(poison), "--reason", "reader lost")
    code, err, out = cli_here(own_server, monkeypatch, capsys, *skip)
    assert code == 0, err
    assert "recorded ProjectionSkip" in out
    events = api.ok(api.get("/events", types="ProjectionSkip.Recorded"))["items"]
    assert [(e["data"]["projection"], e["data"]["position"]) for e in events] == [(POISONED, poison)]
    skip_position = events[0]["position"]

    tasks = api.ok(api.get("/queue/tasks", queue="stall", minPosition=skip_position))["items"]
    assert {before["id"], after["id"]} <= {task["id"] for task in tasks}
    assert until(lambda: projections(api)[POISONED]["error"] is None)
    healthy = cli_here(own_server, monkeypatch, capsys, "retry", POISONED)
    assert healthy[0] == 1 and "not stalled" in healthy[1]

    own_server.stop()  # the views are verified from the store alone
    verified = verify_views(own_server)
    assert verified.returncode == 0, verified.stdout + verified.stderr[-3000:]
    assert "views match the rebuild" in verified.stdout
