"""The Python client against the real server: runs, commands, run events, runners, sessions, errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from interfaces.client import (
    AgentRunClient,
    Conflict,
    NotFound,
    RunnerLeaseConflict,
    SchemaInvalid,
    StaleAttempt,
    TenantPolicyDenied,
    Unauthorized,
)
from interfaces.client.runner_loop import RunnerLoop
from interfaces.client.types_runs import Command, Run, RunEvent, Runner, SessionSummary
from tests.support.server import Server, token_of, unique
from tests.support.waiting import wait_for

Connect = Callable[[str], AgentRunClient]


def keys_of(typed: Any) -> set[str]:
    return set(typed.__annotations__)


def new_run(client: AgentRunClient, session_id: str | None = None) -> Run:
    ref = {"sessionId": session_id} if session_id else None
    return client.runs.create("tenant-a", "proj", "codex", session_ref=ref)  # type: ignore[arg-type]


def test_run_lifecycle_through_the_client_returns_the_contract_shapes(connect: Connect) -> None:
    client, runner = connect("client"), connect("runner")
    run = new_run(client)
    assert set(run) == keys_of(Run) and run["status"] == "pending"
    registered = runner.runners.register(unique("runner"), {"zone": "a"})
    assert set(registered) == keys_of(Runner)
    claimed = runner.runs.claim(run["id"], registered["id"], 30_000)
    assert claimed["status"] == "claimed" and claimed["claimEpoch"] == 1
    runner.runs.heartbeat(run["id"], registered["id"], 1, 30_000)
    event = runner.runs.append_event(run["id"], "assistant_message", {"text": "hi"}, claim_epoch=1)
    assert set(event) == keys_of(RunEvent) and event["seq"] == 1
    batch = runner.runs.append_events(
        run["id"], [{"type": "usage", "payload": {"n": i}, "claimEpoch": 1} for i in range(3)]
    )
    assert [e["seq"] for e in batch["items"]] == [2, 3, 4]
    finished = runner.runs.finish(run["id"], "completed", claim_epoch=1)
    assert finished["status"] == "completed"
    seqs = [e["seq"] for e in client.runs.iter_events(run["id"], limit=2)]
    assert seqs == [1, 2, 3, 4, 5]
    assert client.runs.get(run["id"])["terminalStatus"] == "completed"


def test_commands_through_the_client(connect: Connect) -> None:
    client, runner, operator = connect("client"), connect("runner"), connect("operator")
    run = new_run(client)
    key = unique("key")
    command = client.commands.create(run["id"], "turn", {"prompt": "go"}, idempotency_key=key)
    assert set(command) == keys_of(Command) and command["state"] == "pending"
    assert (
        client.commands.create(run["id"], "turn", {"prompt": "go"}, idempotency_key=key)["id"]
        == command["id"]
    )
    with pytest.raises(Conflict):
        client.commands.create(run["id"], "turn", {"prompt": "other"}, idempotency_key=key)
    assert runner.commands.ack(command["id"])["state"] == "acknowledged"
    assert runner.commands.finish(command["id"], "completed")["state"] == "completed"
    assert client.commands.get(command["id"])["state"] == "completed"
    steer = client.commands.create(run["id"], "steer", {"text": "left"})
    assert operator.commands.cancel(steer["id"], "changed my mind")["state"] == "cancelled"
    page = client.commands.list(run["id"])
    assert [c["seq"] for c in page["items"]] == [1, 2] and page["nextCursor"] is None
    cancelled = operator.runs.cancel(run["id"], "done")
    assert cancelled["status"] == "cancelled"
    with pytest.raises(Conflict):
        client.commands.create(run["id"], "turn", {"prompt": "late"})


def test_the_server_errors_arrive_as_typed_exceptions(connect: Connect, server: Server) -> None:
    client, runner, other_tenant = connect("client"), connect("runner"), connect("client-b")
    with pytest.raises(NotFound):
        client.runs.get(unique("missing"))
    run = new_run(client, session_id=unique("s"))
    with pytest.raises(NotFound):
        other_tenant.runs.get(run["id"])
    with pytest.raises(SchemaInvalid) as invalid:
        runner.runs.append_event(run["id"], "no_such_type", {})
    assert invalid.value.status == 422 and invalid.value.details
    runner.runs.claim(run["id"], "runner-1", 60_000)
    with pytest.raises(RunnerLeaseConflict):
        runner.runs.claim(run["id"], "runner-2", 60_000)
    with pytest.raises(StaleAttempt):
        runner.runs.heartbeat(run["id"], "runner-2", 1, 60_000)
    with pytest.raises(TenantPolicyDenied):
        AgentRunClient(server.base_url, token_of("admin")).runs.create(
            "tenant-b",
            "proj",
            "codex",
            session_ref=run["sessionRef"],  # type: ignore[arg-type]
        )
    with pytest.raises(Unauthorized):
        AgentRunClient(server.base_url, "wrong-token").runs.get(run["id"])


def test_the_runner_helper_claims_heartbeats_appends_and_finishes(connect: Connect) -> None:
    client = connect("client")
    run = new_run(client)
    loop = RunnerLoop(connect("runner"), unique("runner"), lease_ms=1_000, heartbeat_every=0.1)

    def work(claimed: Any) -> None:
        claimed.append("assistant_message", {"text": "working"})
        # Time itself: longer than the 1 s lease, so that only the heartbeats keep the claim.
        time.sleep(1.5)
        claimed.append_many([("usage", {"tokens": 3}), ("diff", {"patch": "+x"})])

    finished = loop.work(run["id"], work)
    assert finished["status"] == "completed" and finished["claimedBy"] == loop.runner_id
    types = [e["type"] for e in client.runs.iter_events(run["id"])]
    assert types == ["assistant_message", "usage", "diff", "terminal_status"]


def test_an_exception_in_the_runner_helper_fails_the_run(connect: Connect) -> None:
    client = connect("client")
    run = new_run(client)
    loop = RunnerLoop(connect("runner"), lease_ms=30_000)
    with pytest.raises(RuntimeError), loop.claim(run["id"]) as claimed:
        claimed.append("backend_status", {"state": "starting"})
        raise RuntimeError("backend crashed")
    failed = client.runs.get(run["id"])
    assert failed["status"] == "failed" and failed["failureKind"] == "RuntimeError"
    assert failed["failureMessage"] == "backend crashed"


def test_a_runner_whose_claim_was_taken_over_is_fenced_out(connect: Connect) -> None:
    client, admin = connect("client"), connect("runner")
    run = new_run(client)
    loop = RunnerLoop(connect("runner"), lease_ms=200, heartbeat_every=60)
    claimed = loop.claim(run["id"])

    def taken_over() -> bool:
        try:
            admin.runs.claim(run["id"], "usurper", 30_000)
        except RunnerLeaseConflict:  # the 200 ms lease has not run out yet
            return False
        return True

    assert wait_for(taken_over, timeout=10, every=0.05)  # once the lease ran out without a heartbeat
    with pytest.raises(StaleAttempt):
        claimed.append("assistant_message", {"text": "too late"})
    claimed.stop_heartbeat()


def test_sessions_through_the_client(connect: Connect) -> None:
    client, runner = connect("client"), connect("runner")
    session_id = unique("session")
    run = new_run(client, session_id)
    command = client.commands.create(run["id"], "turn", {"prompt": "Write   a\nhaiku"})
    runner.runs.claim(run["id"], "r-1", 30_000)
    runner.runs.append_event(run["id"], "assistant_message", {"text": "ok"})
    event = runner.runs.append_event(run["id"], "reasoning", {"text": "hmm"})
    summary = client.sessions.get(session_id, reader_id="me", min_position=event["position"])
    assert set(summary) == keys_of(SessionSummary)
    assert summary["title"] == "Write a haiku" and summary["active"] and summary["activeRunId"] == run["id"]
    trace = client.sessions.trace(session_id, min_position=event["position"])
    assert [e["type"] for e in trace["items"]] == ["assistant_message", "reasoning"]
    output = client.sessions.output(session_id, min_position=event["position"])
    assert [e["type"] for e in output["items"]] == ["assistant_message"]
    done = runner.runs.finish(run["id"], "completed")
    runner.commands.finish(command["id"], "completed")
    unread = client.sessions.get(session_id, reader_id="me", min_position=done["position"])
    assert unread["attentionState"] == "unread"
    listed = [s["sessionId"] for s in client.sessions.iter(state="unread", reader_id="me", limit=5)]
    assert session_id in listed
    marked = client.sessions.mark_read(session_id, "me")
    read = client.sessions.get(session_id, reader_id="me", min_position=marked["position"])
    assert read["attentionState"] == "read" and not read["unread"]


def test_health_through_the_client(connect: Connect, server: Server) -> None:
    health = connect("")
    assert health.healthz()["adapter"] == server.backend and health.healthz()["ready"]
