"""Use cases on a real store: runs, claims, fencing, events, commands, cascades, concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from application.access import SYSTEM
from domain.errors import IdempotencyConflictError, SchemaInvalidError, TerminalStateError
from domain.outcome import Outcome
from domain.run import LeaseConflictError, StaleAttemptError
from domain.session import TenantPolicyDeniedError
from interfaces.bootstrap import Container
from tests.support.clock import ManualClock

THREADS = 8


def create_run(c: Container, session_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tenant_id": "tenant-a",
        "project_id": "proj",
        "backend_profile": "codex",
        "session_ref": {"sessionId": session_id} if session_id else None,
        "resource_bundle_ref": None,
        **overrides,
    }
    return c.runs.create(SYSTEM, **fields)


def summary(c: Container, session_id: str, position: int) -> dict[str, Any]:
    return c.sessions.summary(SYSTEM, session_id, None, min_position=position)


def finish_run(
    c: Container, run_id: str, status: str = "completed", epoch: int | None = None
) -> dict[str, Any]:
    return c.runs.finish(
        SYSTEM,
        run_id,
        Outcome(status),
        claim_epoch=epoch,
    )


def add_command(
    c: Container, run_id: str, kind: str = "turn", key: str | None = None, **payload: Any
) -> tuple[dict[str, Any], bool]:
    return c.commands.create(
        SYSTEM,
        run_id,
        command_type=kind,
        payload=payload or {"prompt": "hello"},
        idempotency_key=key,
    )


def all_events(c: Container, run_id: str) -> list[dict[str, Any]]:
    items, cursor = c.run_events.page(SYSTEM, run_id, 0, 500)
    assert cursor is None
    return items


def test_a_run_naming_a_new_session_creates_it_idle(container: Container) -> None:
    run = create_run(container, "sess-new", session_ref={"sessionId": "sess-new", "metadata": {"k": 1}})

    assert run["status"] == "pending" and run["claimEpoch"] == 0
    s = summary(container, "sess-new", run["position"])
    assert (s["executionState"], s["lastRunId"], s["activeRunId"]) == ("idle", run["id"], None)
    assert s["metadata"] == {"k": 1} and s["sessionPath"] == "tenant-a/proj/sess-new"
    assert s["unread"] is True and s["lastEventSeq"] == 0

    second = create_run(container, "sess-new")
    assert summary(container, "sess-new", second["position"])["lastRunId"] == second["id"]


def test_a_session_never_crosses_a_tenant_or_backend_boundary(container: Container) -> None:
    create_run(container, "sess-owned")
    with pytest.raises(TenantPolicyDeniedError):
        create_run(container, "sess-owned", tenant_id="tenant-b")
    with pytest.raises(SchemaInvalidError):
        create_run(container, "sess-owned", backend_profile="other")


def test_a_claim_makes_the_session_running_and_conflicts_with_another_runner(
    container: Container,
) -> None:
    run = create_run(container, "sess-claim")
    claimed = container.runs.claim(SYSTEM, run["id"], "runner-1", 60_000)

    assert (claimed["status"], claimed["claimedBy"], claimed["claimEpoch"]) == (
        "claimed",
        "runner-1",
        1,
    )
    s = summary(container, "sess-claim", claimed["position"])
    assert (s["executionState"], s["activeRunId"], s["active"]) == ("running", run["id"], True)
    with pytest.raises(LeaseConflictError):
        container.runs.claim(SYSTEM, run["id"], "runner-2", 60_000)
    again = container.runs.claim(SYSTEM, run["id"], "runner-1", 60_000)
    assert again["claimEpoch"] == 2


def test_a_heartbeat_is_fenced_by_runner_and_claim_epoch(container: Container) -> None:
    run_id = create_run(container)["id"]
    claimed = container.runs.claim(SYSTEM, run_id, "runner-1", 1_000)

    beat = container.runs.heartbeat(SYSTEM, run_id, "runner-1", 1, 60_000)
    assert beat["leaseExpiresAt"] > claimed["leaseExpiresAt"]
    with pytest.raises(StaleAttemptError):
        container.runs.heartbeat(SYSTEM, run_id, "runner-2", 1, 60_000)
    with pytest.raises(StaleAttemptError):
        container.runs.heartbeat(SYSTEM, run_id, "runner-1", 0, 60_000)


def test_a_newer_claim_fences_out_the_older_attempt(clocked: Container, clock: ManualClock) -> None:
    container = clocked
    run_id = create_run(container)["id"]
    container.runs.claim(SYSTEM, run_id, "runner-1", 1_000)
    container.run_events.append(SYSTEM, run_id, [{"type": "backend_status", "payload": {}, "claimEpoch": 1}])
    with pytest.raises(LeaseConflictError):  # the lease is live
        container.runs.claim(SYSTEM, run_id, "runner-2", 60_000)
    clock.advance(milliseconds=1_001)  # the lease has expired: another runner may take the run over
    taken = container.runs.claim(SYSTEM, run_id, "runner-2", 60_000)
    assert (taken["claimedBy"], taken["claimEpoch"]) == ("runner-2", 2)

    stale = [{"type": "assistant_message", "payload": {"text": "late"}, "claimEpoch": 1}]
    with pytest.raises(StaleAttemptError) as raised:
        container.run_events.append(SYSTEM, run_id, stale)
    assert raised.value.kind == "stale-attempt" and raised.value.details["currentClaimEpoch"] == 2
    with pytest.raises(StaleAttemptError):
        container.runs.heartbeat(SYSTEM, run_id, "runner-1", 1, 60_000)
    with pytest.raises(StaleAttemptError):
        finish_run(container, run_id, epoch=1)

    fresh = [
        {
            "type": "assistant_message",
            "payload": {"text": "ok"},
            "claimEpoch": 2,
            "runnerId": "runner-2",
        }
    ]
    (appended,) = container.run_events.append(SYSTEM, run_id, fresh)
    assert appended["seq"] == 2
    assert [e["seq"] for e in all_events(container, run_id)] == [1, 2]


def test_finishing_a_run_appends_terminal_status_and_marks_the_session_terminal(
    container: Container,
) -> None:
    run = create_run(container, "sess-finish")
    epoch = container.runs.claim(SYSTEM, run["id"], "runner-1", 60_000)["claimEpoch"]
    container.run_events.append(SYSTEM, run["id"], [{"type": "assistant_message", "payload": {"t": 1}}])

    finished = finish_run(container, run["id"], "failed", epoch)
    assert (finished["status"], finished["terminalStatus"]) == ("failed", "failed")
    events = all_events(container, run["id"])
    assert [(e["seq"], e["type"]) for e in events] == [
        (1, "assistant_message"),
        (2, "terminal_status"),
    ]
    s = summary(container, "sess-finish", finished["position"])
    assert (s["executionState"], s["terminalStatus"], s["activeRunId"], s["lastEventSeq"]) == (
        "terminal",
        "failed",
        None,
        2,
    )

    head = container.log.head()
    again = finish_run(container, run["id"], "completed")
    assert (again["status"], again["terminalStatus"]) == ("failed", "failed")
    assert container.log.head() == head  # finishing a terminal run writes nothing
    with pytest.raises(TerminalStateError):
        container.runs.claim(SYSTEM, run["id"], "runner-2", 60_000)


def test_cancelling_a_run_cancels_its_open_commands(container: Container) -> None:
    run_id = create_run(container, "sess-cancel")["id"]
    turn, _ = add_command(container, run_id, "turn", prompt="first turn")
    steer, _ = add_command(container, run_id, "steer", text="go left")
    done, _ = add_command(container, run_id, "interrupt")
    container.commands.acknowledge(SYSTEM, turn["id"])
    container.commands.finish(
        SYSTEM,
        done["id"],
        Outcome("completed"),
    )

    cancelled = container.runs.cancel(SYSTEM, run_id, "user asked")
    assert (cancelled["status"], cancelled["failureKind"]) == ("cancelled", "cancelled")
    states = {c["id"]: c["state"] for c in container.commands.page(SYSTEM, run_id, 0, 50)[0]}
    assert states == {turn["id"]: "cancelled", steer["id"]: "cancelled", done["id"]: "completed"}
    last = all_events(container, run_id)[-1]
    assert last["type"] == "terminal_status" and last["payload"]["terminalStatus"] == "cancelled"
    s = summary(container, "sess-cancel", cancelled["position"])
    assert (s["executionState"], s["terminalStatus"], s["activeCommandId"]) == (
        "terminal",
        "cancelled",
        None,
    )
    assert s["title"] == "first turn"

    head = container.log.head()
    assert container.runs.cancel(SYSTEM, run_id, None)["status"] == "cancelled"
    assert container.log.head() == head  # cancelling a terminal run writes nothing
    with pytest.raises(TerminalStateError):
        add_command(container, run_id, "turn")


def test_eight_threads_with_one_idempotency_key_create_one_command(container: Container) -> None:
    run = create_run(container, "sess-idem")
    barrier = threading.Barrier(THREADS, timeout=30)

    def create(_: int) -> tuple[dict[str, Any], bool]:
        barrier.wait()
        return add_command(container, run["id"], "turn", key="same-key", prompt="only once")

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(create, range(THREADS), timeout=60))

    assert sum(created for _, created in outcomes) == 1
    assert len({command["id"] for command, _ in outcomes}) == 1
    commands, _ = container.commands.page(SYSTEM, run["id"], 0, 50)
    assert [c["id"] for c in commands] == [outcomes[0][0]["id"]] and commands[0]["seq"] == 1
    with pytest.raises(IdempotencyConflictError):
        add_command(container, run["id"], "turn", key="same-key", prompt="another payload")
    # The session's version rose once, for the one turn created.
    created_position = max(command["position"] for command, _ in outcomes)
    assert summary(container, "sess-idem", created_position)["version"] == created_position


def test_concurrent_appends_from_eight_threads_get_gapless_seqs(container: Container) -> None:
    run = create_run(container, "sess-appends")
    barrier = threading.Barrier(THREADS, timeout=30)
    per_thread = 6

    def append(n: int) -> list[int]:
        barrier.wait()
        seqs = []
        for i in range(per_thread):
            batch = [
                {"type": "reasoning", "payload": {"thread": n, "i": i, "j": j}} for j in range(1 + i % 2)
            ]
            seqs += [e["seq"] for e in container.run_events.append(SYSTEM, run["id"], batch)]
        return seqs

    with ThreadPoolExecutor(THREADS) as pool:
        per = list(pool.map(append, range(THREADS), timeout=90))

    total = THREADS * sum(1 + i % 2 for i in range(per_thread))
    seqs = sorted(seq for seqs in per for seq in seqs)
    assert seqs == list(range(1, total + 1))
    assert all(s == sorted(s) for s in per)  # each thread saw its own appends in order
    events = all_events(container, run["id"])
    assert [e["seq"] for e in events] == seqs
    assert len({(e["payload"]["thread"], e["payload"]["i"], e["payload"]["j"]) for e in events}) == total
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == total
    assert summary(container, "sess-appends", positions[-1])["lastEventSeq"] == total
