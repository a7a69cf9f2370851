"""The InferenceTask aggregate: claims, holder fencing, idempotent terminal transitions, revert, expiry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import TerminalStateError
from domain.inference_task import InferenceTask, NotClaimableError, StaleAttemptError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def task() -> InferenceTask:
    return InferenceTask.enqueue(
        pool_name="pool",
        llm_name="llm",
        model="m",
        tier=None,
        request_body={"q": 1},
        streaming=True,
        owner_id="alice",
        agent_id=None,
        now=NOW,
    )


def names(t: InferenceTask) -> list[str]:
    return [type(e).__qualname__ for e in t.collect_events()]


def test_a_new_task_is_pending_with_its_routing_fixed() -> None:
    t = task()
    assert (t.status, t.pool_name, t.llm_name, t.claimed_by) == ("pending", "pool", "llm", None)


def test_a_second_claim_of_a_task_loses() -> None:
    t = task()
    t.claim("w1", "c1", NOW)
    with pytest.raises(NotClaimableError):
        t.claim("w2", "c2", NOW)
    assert t.claimed_by == "w1" and t.status == "claimed"


def test_only_the_holder_may_stream_or_finish() -> None:
    t = task()
    t.claim("w1", "c1", NOW)
    with pytest.raises(StaleAttemptError):
        t.start_streaming("w2", NOW)
    with pytest.raises(StaleAttemptError):
        t.complete("w2", "x", NOW)
    assert t.start_streaming("w1", NOW) is True
    assert t.start_streaming("w1", NOW) is False  # the first chunk is recorded once
    assert t.status == "running"


def test_a_second_terminal_write_changes_nothing() -> None:
    t = task()
    t.claim("w1", "c1", NOW)
    assert t.complete("w1", {"a": 1}, NOW) is True
    assert t.complete("w1", {"a": 2}, NOW) is False
    assert t.fail("w1", "boom", NOW) is False
    assert t.cancel("alice", NOW) is False
    assert t.response_body == {"a": 1}
    with pytest.raises(TerminalStateError):
        t.start_streaming("w1", NOW)


def test_revert_puts_the_task_back_only_for_the_channel_that_held_it() -> None:
    t = task()
    t.claim("w1", "c1", NOW)
    t.start_streaming("w1", NOW)
    assert t.revert("w1", "c-other", "closed", NOW) is False
    assert t.revert("w1", "c1", "closed", NOW) is True
    assert (t.status, t.claimed_by, t.stream_started_at) == ("pending", None, None)
    t.claim("w2", "c2", NOW)
    assert t.attempts == 2
    assert names(t) == [
        "InferenceTask.Created",
        "InferenceTask.Claimed",
        "InferenceTask.ChunkStarted",
        "InferenceTask.RevertedOnDisconnect",
        "InferenceTask.Claimed",
    ]


def test_only_a_pending_task_expires_with_the_contract_message() -> None:
    t = task()
    assert t.expire(3600, NOW) is True
    assert t.status == "error" and t.error_message == "expired in pending after 3600s"
    claimed = task()
    claimed.claim("w1", "c1", NOW)
    assert claimed.expire(3600, NOW) is False
