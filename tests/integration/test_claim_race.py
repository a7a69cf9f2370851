"""Sixteen runners claim one run at once: exactly one wins, the others get a lease conflict."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from application.access import SYSTEM
from domain.run import LeaseConflictError
from interfaces.bootstrap import Container
from interfaces.http.errors import from_exception

RUNNERS = 16


def claim_all_at_once(container: Container, run_id: str) -> tuple[list[dict], list[BaseException]]:
    barrier = threading.Barrier(RUNNERS, timeout=30)

    def claim(n: int) -> dict | BaseException:
        barrier.wait()
        try:
            return container.runs.claim(SYSTEM, run_id, f"runner-{n}", 60_000)
        except Exception as error:  # noqa: BLE001 - the losers' errors are the result
            return error

    with ThreadPoolExecutor(RUNNERS) as pool:
        outcomes = list(pool.map(claim, range(RUNNERS), timeout=60))
    wins = [o for o in outcomes if isinstance(o, dict)]
    losses = [o for o in outcomes if isinstance(o, BaseException)]
    return wins, losses


def test_exactly_one_of_sixteen_simultaneous_claims_wins(container: Container) -> None:
    for round_ in range(3):
        run = container.runs.create(
            SYSTEM,
            tenant_id="tenant-a",
            project_id="proj",
            backend_profile="codex",
            session_ref={"sessionId": f"race-{round_}"},
            resource_bundle_ref=None,
        )

        wins, losses = claim_all_at_once(container, run["id"])

        assert len(wins) == 1, losses
        assert len(losses) == RUNNERS - 1
        assert all(isinstance(error, LeaseConflictError) for error in losses), losses
        assert {from_exception(error).status_code for error in losses} == {409}  # type: ignore[arg-type]
        (won,) = wins
        assert won["status"] == "claimed" and won["claimEpoch"] == 1
        stored = container.runs.get(SYSTEM, run["id"])
        assert (stored["claimedBy"], stored["claimEpoch"]) == (won["claimedBy"], 1)
        assert stored["position"] == won["position"]


def test_the_winner_keeps_its_lease_against_a_late_claim(container: Container) -> None:
    run = container.runs.create(
        SYSTEM,
        tenant_id="tenant-a",
        project_id="proj",
        backend_profile="codex",
        session_ref=None,
        resource_bundle_ref=None,
    )
    wins, _ = claim_all_at_once(container, run["id"])
    with pytest.raises(LeaseConflictError) as raised:
        container.runs.claim(SYSTEM, run["id"], "runner-late", 60_000)
    assert raised.value.kind == "runner-lease-conflict"
    assert container.runs.get(SYSTEM, run["id"])["claimedBy"] == wins[0]["claimedBy"]
