"""The Run aggregate: claims, leases, fencing, heartbeats, run events, terminal transitions."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time

from domain.errors import IdempotencyConflictError, SchemaInvalidError, TerminalStateError
from domain.hashing import payload_hash
from domain.outcome import Outcome
from domain.run import LeaseConflictError, Run, StaleAttemptError

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_run(session_ref: dict[str, Any] | None = None, now: datetime = T0) -> Run:
    return Run.create(
        tenant_id="acme",
        project_id="web",
        backend_profile="codex",
        session_ref=session_ref,
        resource_bundle_ref=None,
        now=now,
    )


def claimed_run(runner_id: str = "runner-a", lease_ms: int = 30_000) -> Run:
    run = new_run()
    run.claim(runner_id, lease_ms, T0)
    return run


def events_of(run: Run) -> list[Any]:
    return list(run.collect_events())


# -- creation -------------------------------------------------------------------------------


def test_a_new_run_is_pending_unclaimed_and_has_no_events() -> None:
    run = new_run()

    assert run.id.startswith("run_")
    assert run.status == "pending"
    assert run.claimed_by is None
    assert run.claim_epoch == 0
    assert run.lease_expires_at is None
    assert run.last_seq == 0
    assert run.version == 1
    assert run.created_at == T0 == run.updated_at
    assert not run.is_terminal


def test_each_run_gets_its_own_id() -> None:
    assert new_run().id != new_run().id


def test_the_session_id_comes_from_the_session_ref() -> None:
    assert new_run({"sessionId": "s-1"}).session_id == "s-1"
    assert new_run().session_id is None


# -- claims and leases ----------------------------------------------------------------------


def test_claiming_a_pending_run_sets_holder_epoch_and_lease() -> None:
    run = new_run()

    run.claim("runner-a", 30_000, T0)

    assert run.status == "claimed"
    assert run.claimed_by == "runner-a"
    assert run.claim_epoch == 1
    assert run.lease_expires_at == T0 + timedelta(seconds=30)
    assert run.updated_at == T0


def test_a_claim_records_a_claimed_event_with_the_new_epoch() -> None:
    run = new_run()
    events_of(run)

    run.claim("runner-a", 1_000, T0)

    (claimed,) = events_of(run)
    assert isinstance(claimed, Run.Claimed)
    assert claimed.runner_id == "runner-a"
    assert claimed.claim_epoch == 1
    assert claimed.lease_expires_at == T0 + timedelta(seconds=1)
    assert claimed.timestamp == T0


def test_another_runner_cannot_claim_while_the_lease_is_live() -> None:
    run = claimed_run("runner-a", lease_ms=30_000)

    with pytest.raises(LeaseConflictError) as raised:
        run.claim("runner-b", 30_000, T0 + timedelta(seconds=29))

    assert raised.value.kind == "runner-lease-conflict"
    assert raised.value.details["leaseExpiresAt"] == (T0 + timedelta(seconds=30)).isoformat()
    assert run.claimed_by == "runner-a"
    assert run.claim_epoch == 1


def test_another_runner_takes_over_once_the_lease_has_expired() -> None:
    run = claimed_run("runner-a", lease_ms=30_000)

    run.claim("runner-b", 30_000, T0 + timedelta(seconds=30))

    assert run.claimed_by == "runner-b"
    assert run.claim_epoch == 2
    assert run.lease_expires_at == T0 + timedelta(seconds=60)


def test_lease_takeover_follows_the_clock() -> None:
    with freeze_time(T0) as clock:
        run = new_run(now=datetime.now(UTC))
        run.claim("runner-a", 5_000, datetime.now(UTC))
        clock.tick(timedelta(seconds=4))
        with pytest.raises(LeaseConflictError):
            run.claim("runner-b", 5_000, datetime.now(UTC))
        clock.tick(timedelta(seconds=1))
        run.claim("runner-b", 5_000, datetime.now(UTC))

    assert run.claimed_by == "runner-b"
    assert run.lease_expires_at == T0 + timedelta(seconds=10)


def test_the_holder_may_claim_again_and_each_claim_raises_the_epoch() -> None:
    run = claimed_run("runner-a")

    run.claim("runner-a", 30_000, T0 + timedelta(seconds=1))
    run.claim("runner-a", 30_000, T0 + timedelta(seconds=2))

    assert run.claimed_by == "runner-a"
    assert run.claim_epoch == 3


@pytest.mark.parametrize("end", ["finished", "cancelled"])
def test_a_terminal_run_cannot_be_claimed(end: str) -> None:
    run = claimed_run()
    if end == "finished":
        run.finish(Outcome("completed"), T0)
    else:
        run.cancel("stop", T0)

    with pytest.raises(TerminalStateError) as raised:
        run.claim("runner-b", 30_000, T0 + timedelta(hours=1))

    assert raised.value.kind == "conflict"


# -- fencing --------------------------------------------------------------------------------


def test_a_write_without_an_epoch_is_not_fenced() -> None:
    claimed_run().check_fence(None, None)
    claimed_run().check_fence("someone-else", None)


def test_a_write_with_the_current_epoch_of_the_holder_passes_the_fence() -> None:
    run = claimed_run("runner-a")

    run.check_fence("runner-a", 1)
    run.check_fence(None, 1)


def test_a_write_from_an_older_epoch_is_stale() -> None:
    run = claimed_run("runner-a", lease_ms=1_000)
    run.claim("runner-b", 1_000, T0 + timedelta(seconds=5))

    with pytest.raises(StaleAttemptError) as raised:
        run.check_fence("runner-a", 1)

    assert raised.value.kind == "stale-attempt"
    assert raised.value.details["currentClaimEpoch"] == 2


def test_a_write_with_a_future_epoch_is_stale_too() -> None:
    with pytest.raises(StaleAttemptError):
        claimed_run("runner-a").check_fence("runner-a", 2)


def test_a_write_with_the_current_epoch_from_another_runner_is_stale() -> None:
    with pytest.raises(StaleAttemptError):
        claimed_run("runner-a").check_fence("runner-b", 1)


# -- heartbeats -----------------------------------------------------------------------------


def test_a_heartbeat_from_the_holder_extends_the_lease_from_now() -> None:
    run = claimed_run("runner-a", lease_ms=10_000)
    events_of(run)

    run.heartbeat("runner-a", 1, 20_000, T0 + timedelta(seconds=8))

    assert run.lease_expires_at == T0 + timedelta(seconds=28)
    assert run.claim_epoch == 1
    (extended,) = events_of(run)
    assert isinstance(extended, Run.LeaseExtended)
    assert extended.runner_id == "runner-a"
    assert extended.claim_epoch == 1


def test_a_heartbeat_from_a_runner_that_does_not_hold_the_run_is_stale() -> None:
    run = claimed_run("runner-a")

    with pytest.raises(StaleAttemptError):
        run.heartbeat("runner-b", 1, 10_000, T0)


def test_a_heartbeat_with_an_old_epoch_is_stale() -> None:
    run = claimed_run("runner-a")
    run.claim("runner-a", 10_000, T0)

    with pytest.raises(StaleAttemptError):
        run.heartbeat("runner-a", 1, 10_000, T0)


def test_a_heartbeat_on_an_unclaimed_run_is_stale() -> None:
    with pytest.raises(StaleAttemptError):
        new_run().heartbeat("runner-a", 0, 10_000, T0)


def test_a_heartbeat_keeps_the_run_from_another_runner_past_the_first_lease() -> None:
    run = claimed_run("runner-a", lease_ms=200)

    run.heartbeat("runner-a", 1, 600_000, T0 + timedelta(milliseconds=100))

    with pytest.raises(LeaseConflictError):
        run.claim("runner-b", 30_000, T0 + timedelta(milliseconds=250))
    assert (run.claimed_by, run.claim_epoch) == ("runner-a", 1)


def test_after_a_takeover_only_the_new_holder_may_beat_and_write() -> None:
    run = claimed_run("runner-a", lease_ms=1)
    run.claim("runner-b", 30_000, T0 + timedelta(milliseconds=50))
    later = T0 + timedelta(milliseconds=60)

    with pytest.raises(StaleAttemptError):
        run.heartbeat("runner-a", 1, 1_000, later)
    with pytest.raises(StaleAttemptError):
        run.check_fence("runner-a", 1)
    run.heartbeat("runner-b", 2, 1_000, later)
    run.check_fence("runner-b", 2)

    assert (run.claimed_by, run.claim_epoch) == ("runner-b", 2)
    assert run.lease_expires_at == later + timedelta(seconds=1)


def test_a_heartbeat_on_a_terminal_run_changes_nothing() -> None:
    run = claimed_run("runner-a")
    run.cancel("stop", T0)
    version = run.version
    lease = run.lease_expires_at

    run.heartbeat("runner-a", 1, 60_000, T0 + timedelta(seconds=1))

    assert run.version == version
    assert run.lease_expires_at == lease


# -- run events -----------------------------------------------------------------------------


def test_run_events_get_consecutive_seqs_from_one() -> None:
    run = claimed_run()

    seqs = [run.append_event("assistant_message", {"text": str(n)}, T0) for n in range(3)]

    assert seqs == [1, 2, 3]
    assert run.last_seq == 3


def test_each_run_event_remembers_the_version_it_was_recorded_at() -> None:
    run = new_run()  # version 1
    run.append_event("usage", {}, T0)  # version 2
    run.claim("runner-a", 1_000, T0)  # version 3
    run.append_event("usage", {}, T0)  # version 4

    assert [run.version_of(seq) for seq in (1, 2)] == [2, 4]
    assert run.version == 4


def test_a_batch_of_run_events_is_held_as_one_span_not_one_entry_per_event() -> None:
    run = new_run()  # version 1
    for _ in range(1_000):
        run.append_event("usage", {}, T0)  # versions 2..1001
    run.claim("runner-a", 1_000, T0)  # version 1002
    for _ in range(1_000):
        run.append_event("usage", {}, T0)  # versions 1003..2002

    assert run.event_spans == [[1, 2], [1001, 1003]]
    assert (run.version_of(1000), run.version_of(1001), run.version_of(2000)) == (1001, 1003, 2002)


def test_an_appended_event_carries_seq_type_and_payload() -> None:
    run = new_run()
    events_of(run)

    run.append_event("tool_call", {"name": "ls"}, T0)

    (appended,) = events_of(run)
    assert isinstance(appended, Run.EventAppended)
    assert (appended.seq, appended.type, appended.payload) == (1, "tool_call", {"name": "ls"})


def test_an_unknown_run_event_type_is_schema_invalid_and_appends_nothing() -> None:
    run = new_run()

    with pytest.raises(SchemaInvalidError) as raised:
        run.append_event("telemetry", {}, T0)

    assert raised.value.kind == "schema-invalid"
    assert "usage" in raised.value.details["allowed"]
    assert run.last_seq == 0
    assert run.version == 1


# -- finish and cancel ----------------------------------------------------------------------


@pytest.mark.parametrize("terminal_status", ["completed", "failed", "blocked", "cancelled"])
def test_finishing_sets_the_terminal_status(terminal_status: str) -> None:
    run = claimed_run()

    assert run.finish(Outcome(terminal_status, "boom", "it broke", None, None), T0) is True

    assert run.status == terminal_status
    assert run.terminal_status == terminal_status
    assert run.failure_kind == "boom"
    assert run.failure_message == "it broke"
    assert run.is_terminal


def test_finishing_appends_a_terminal_status_run_event() -> None:
    run = claimed_run()
    run.append_event("assistant_message", {"text": "done"}, T0)
    events_of(run)

    run.finish(Outcome("failed", "backend-error", "no GPU", None, None), T0)

    finished, appended = events_of(run)
    assert isinstance(finished, Run.Finished)
    assert isinstance(appended, Run.EventAppended)
    assert appended.seq == 2
    assert appended.type == "terminal_status"
    assert appended.payload == {
        "terminalStatus": "failed",
        "failureKind": "backend-error",
        "message": "no GPU",
    }


def test_finishing_a_terminal_run_changes_nothing() -> None:
    run = claimed_run()
    run.finish(Outcome("completed"), T0)
    version = run.version

    assert run.finish(Outcome("failed", "late", "too late", None, None), T0) is False
    assert run.cancel("too late", T0) is False

    assert run.version == version
    assert run.status == "completed"
    assert run.last_seq == 1


def test_an_unknown_terminal_status_is_schema_invalid() -> None:
    run = claimed_run()

    with pytest.raises(SchemaInvalidError):
        run.finish(Outcome("exploded"), T0)

    assert not run.is_terminal


def test_finishing_with_a_thread_id_updates_the_session_ref() -> None:
    run = new_run({"sessionId": "s-1", "threadId": "t-old"})

    run.finish(Outcome("completed", None, None, "t-new", "turn-9"), T0)

    assert run.session_ref == {"sessionId": "s-1", "threadId": "t-new"}


def test_finishing_with_a_thread_id_leaves_a_run_without_a_session_alone() -> None:
    run = new_run()

    run.finish(Outcome("completed", None, None, "t-new", None), T0)

    assert run.session_ref is None


def test_cancelling_sets_cancelled_and_appends_a_terminal_status_event() -> None:
    run = claimed_run()
    events_of(run)

    assert run.cancel("user asked", T0) is True

    assert run.status == run.terminal_status == run.failure_kind == "cancelled"
    assert run.failure_message == "user asked"
    cancelled, appended = events_of(run)
    assert isinstance(cancelled, Run.Cancelled)
    assert appended.type == "terminal_status"
    assert appended.payload == {
        "terminalStatus": "cancelled",
        "failureKind": "cancelled",
        "message": "user asked",
    }


def test_cancelling_twice_appends_one_terminal_status_event() -> None:
    run = new_run()

    assert run.cancel("first", T0) is True
    assert run.cancel("second", T0) is False

    assert run.last_seq == 1
    assert run.failure_message == "first"


# -- commands -------------------------------------------------------------------------------


def test_commands_of_a_run_get_consecutive_seqs() -> None:
    run = new_run()

    first = run.add_command("cmd_1", "turn", None, payload_hash({"prompt": "a"}), T0)
    second = run.add_command("cmd_2", "steer", None, payload_hash({"prompt": "b"}), T0)

    assert (first, second) == (1, 2)
    assert run.command_ids == ["cmd_1", "cmd_2"]


@pytest.mark.parametrize("end", ["finished", "cancelled"])
def test_a_command_cannot_be_added_to_a_terminal_run(end: str) -> None:
    run = new_run()
    if end == "finished":
        run.finish(Outcome("completed"), T0)
    else:
        run.cancel("done", T0)

    with pytest.raises(TerminalStateError) as raised:
        run.add_command("cmd_1", "turn", None, payload_hash({}), T0)

    assert raised.value.kind == "conflict"
    assert run.command_ids == []


def test_an_idempotency_key_finds_the_command_created_with_it() -> None:
    run = new_run()
    digest = payload_hash({"prompt": "hi"})
    run.add_command("cmd_1", "turn", "key-1", digest, T0)

    assert run.command_for_key("key-1", "turn", digest) == "cmd_1"


def test_an_unknown_or_missing_idempotency_key_finds_nothing() -> None:
    run = new_run()
    run.add_command("cmd_1", "turn", "key-1", payload_hash({}), T0)

    assert run.command_for_key("key-2", "turn", payload_hash({})) is None
    assert run.command_for_key(None, "turn", payload_hash({})) is None


def test_an_idempotency_key_reused_with_another_payload_conflicts() -> None:
    run = new_run()
    run.add_command("cmd_1", "turn", "key-1", payload_hash({"prompt": "hi"}), T0)

    with pytest.raises(IdempotencyConflictError) as raised:
        run.command_for_key("key-1", "turn", payload_hash({"prompt": "bye"}))

    assert raised.value.kind == "conflict"
    assert raised.value.details == {"idempotencyKey": "key-1"}


def test_an_idempotency_key_reused_with_another_command_type_conflicts() -> None:
    run = new_run()
    digest = payload_hash({"prompt": "hi"})
    run.add_command("cmd_1", "turn", "key-1", digest, T0)

    with pytest.raises(IdempotencyConflictError):
        run.command_for_key("key-1", "steer", digest)


def test_commands_without_a_key_are_not_remembered_by_key() -> None:
    run = new_run()
    run.add_command("cmd_1", "turn", None, payload_hash({}), T0)

    assert run.command_keys == {}


# -- runner jobs ----------------------------------------------------------------------------


def test_a_recorded_runner_job_gets_an_id_the_run_id_and_timestamps() -> None:
    run = new_run()

    job = run.record_runner_job({"jobName": "build", "payloadHash": "h1"}, T0)

    assert job["id"].startswith("rjob_")
    assert job["runId"] == run.id
    assert job["createdAt"] == job["updatedAt"] == T0
    assert run.runner_jobs == [job]


def test_a_runner_job_key_finds_its_job_and_conflicts_on_another_payload() -> None:
    run = new_run()
    job = run.record_runner_job({"idempotencyKey": "k", "payloadHash": "h1"}, T0)

    assert run.runner_job_for_key("k", "h1") == job
    assert run.runner_job_for_key("other", "h1") is None
    assert run.runner_job_for_key(None, "h1") is None
    with pytest.raises(IdempotencyConflictError):
        run.runner_job_for_key("k", "h2")


def test_a_copy_of_a_run_from_the_cache_evolves_independently() -> None:
    run = Run.create(
        tenant_id="t",
        project_id="p",
        backend_profile="b",
        session_ref=None,
        resource_bundle_ref=None,
        now=T0,
    )
    run.append_event("usage", {"n": 1}, T0)
    run.add_command("cmd_1", "turn", "key-1", "hash", T0)
    run.collect_events()
    clone = copy.deepcopy(run)
    clone.append_event("usage", {"n": 2}, T0)
    clone.add_command("cmd_2", "turn", "key-2", "hash", T0)
    assert (run.last_seq, run.command_ids, list(run.command_keys)) == (1, ["cmd_1"], ["key-1"])
    assert (clone.last_seq, clone.command_ids) == (2, ["cmd_1", "cmd_2"])
    assert run.pending_events == [] and len(clone.pending_events) == 2
