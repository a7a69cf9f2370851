"""The write path: group commit of every save, appends on remembered runs, stale memory never decides."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from application.access import SYSTEM
from domain.run import StaleAttemptError
from infrastructure.settings import Settings
from interfaces.bootstrap import Container

THREADS = 16


def new_run(container: Container, name: str) -> str:
    run = container.runs.create(
        SYSTEM,
        tenant_id="tenant-a",
        project_id="proj",
        backend_profile="codex",
        session_ref={"sessionId": name},
        resource_bundle_ref=None,
    )
    return str(run["id"])


def append(container: Container, run_id: str, n: int, **fence: Any) -> list[dict[str, Any]]:
    event = {"type": "usage", "payload": {"n": n}, **fence}
    return container.run_events.append(SYSTEM, run_id, [event])


def all_at_once(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls), timeout=30)

    def call(fn: Any) -> Any:
        barrier.wait()
        try:
            return fn()
        except Exception as error:  # noqa: BLE001 - errors are outcomes here
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(call, calls, timeout=120))


def test_threads_appending_to_many_runs_and_to_one_get_gapless_seqs_in_commit_order(
    container: Container,
) -> None:
    runs = [new_run(container, f"many-{n}") for n in range(THREADS)]
    shared = new_run(container, "one")
    per_thread = 10

    def writer(index: int) -> list[dict[str, Any]]:
        written = []
        for n in range(per_thread):
            written += append(container, runs[index], n)
            written += append(container, shared, n)
        return written

    before = container.log.group.batches
    outcomes = all_at_once([lambda i=i: writer(i) for i in range(THREADS)])
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    written = [event for events in outcomes for event in events]
    print("transactions", container.log.group.batches - before, "appends", len(written))
    assert container.log.group.batches - before < len(written)  # transactions were shared

    for run_id in [*runs, shared]:
        mine = sorted((e for e in written if e["runId"] == run_id), key=lambda e: e["seq"])
        expected = per_thread * (THREADS if run_id == shared else 1)
        assert [e["seq"] for e in mine] == list(range(1, expected + 1))
        # Seq order is commit order: positions rise with seqs.
        assert [e["position"] for e in mine] == sorted(e["position"] for e in mine)
        page, _ = container.run_events.page(SYSTEM, run_id, 0, 500)
        assert [(e["seq"], e["position"]) for e in page] == [(e["seq"], e["position"]) for e in mine]
    positions = [e["position"] for e in written]
    assert len(set(positions)) == len(positions)


def test_fenced_appends_racing_a_new_claim_are_refused_exactly_when_they_come_after_it(
    container: Container,
) -> None:
    run_id = new_run(container, "fenced")
    container.runs.claim(SYSTEM, run_id, "runner-1", 60_000)
    append(container, run_id, 0, runnerId="runner-1", claimEpoch=1)  # remembered at epoch 1
    calls = [lambda n=n: append(container, run_id, n, runnerId="runner-1", claimEpoch=1) for n in range(15)]
    calls.append(lambda: container.runs.claim(SYSTEM, run_id, "runner-1", 60_000))
    outcomes = all_at_once(calls)
    claim, appended = outcomes[-1], outcomes[:-1]
    # The claim is decided on the run as saved: appends after it are fenced out.
    assert isinstance(claim, dict) and claim["claimEpoch"] == 2, claim
    for outcome in appended:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, StaleAttemptError), outcome
        else:
            assert outcome[0]["position"] < claim["position"]
    accepted = 1 + sum(1 for o in appended if not isinstance(o, BaseException))
    page, _ = container.run_events.page(SYSTEM, run_id, 0, 500)
    assert [e["seq"] for e in page] == list(range(1, accepted + 1))


@pytest.fixture
def replicas(settings: Settings) -> Iterator[tuple[Container, Container]]:
    a, b = Container(settings), Container(settings)
    yield a, b
    a.close()
    b.close()


def test_a_replica_remembering_an_old_claim_neither_accepts_a_stale_write_nor_refuses_a_current_one(
    replicas: tuple[Container, Container],
) -> None:
    a, b = replicas
    run_id = new_run(a, "stale-memory")
    a.runs.claim(SYSTEM, run_id, "runner-1", 60_000)
    append(a, run_id, 0, runnerId="runner-1", claimEpoch=1)  # A remembers the run at epoch 1
    b.runs.claim(SYSTEM, run_id, "runner-1", 60_000)  # B moves it to epoch 2

    with pytest.raises(StaleAttemptError):
        append(a, run_id, 1, runnerId="runner-1", claimEpoch=1)
    (event,) = append(a, run_id, 2, runnerId="runner-1", claimEpoch=2)
    assert event["seq"] == 2
    # B's memory is behind A's append now: its next append still lands after it, gapless.
    (event,) = append(b, run_id, 3, runnerId="runner-1", claimEpoch=2)
    assert event["seq"] == 3


def test_memory_is_bounded_by_its_setting(settings: Settings) -> None:
    small = Container(settings.model_copy(update={"aggregate_memory": 3}))
    try:
        for n in range(6):
            append(small, new_run(small, f"bounded-{n}"), 0)
        assert len(small.log.memory) == 3
    finally:
        small.close()
