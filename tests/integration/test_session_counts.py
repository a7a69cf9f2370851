"""Session tab counts kept as counters agree with the lists, through every kind of transition."""

from __future__ import annotations

import random

from application.access import SYSTEM, Principal
from domain.outcome import Outcome
from interfaces.bootstrap import Container

READERS = ["r1", "r2", None]
STATES = ("default", "running", "unread", "terminal", "idle", "all")


def listed(c: Container, state: str, reader: str | None, profile: str | None) -> int:
    total, cursor = 0, None
    while True:
        items, cursor = c.sessions.page(
            SYSTEM,
            state=state,
            backend_profile=profile,
            reader_id=reader,
            changed_since=None,
            limit=100,
            cursor=cursor,
            min_position=None,
        )
        total += len(items)
        if cursor is None:
            return total


def test_counts_follow_claims_turns_finishes_cancels_and_reads(container: Container) -> None:
    c = container
    rng = random.Random(7)
    runs: list[dict[str, str]] = []
    position = 0
    for i in range(24):
        k = i % 16  # some sessions get two runs; a session keeps its tenant and profile
        run = c.runs.create(
            SYSTEM,
            tenant_id=["t1", "t2"][k % 2],
            project_id="p",
            backend_profile=["codex", "claude"][k // 2 % 2],
            session_ref={"sessionId": f"s{k}"},
            resource_bundle_ref=None,
        )
        runs.append({"run": run["id"], "session": f"s{k}"})
        position = run["position"]
    for step in range(80):
        target = rng.choice(runs)
        move = rng.choice(["turn", "claim", "finish-turn", "finish", "cancel", "read", "read"])
        try:
            if move == "turn":
                command, _ = c.commands.create(
                    SYSTEM,
                    target["run"],
                    command_type="turn",
                    payload={"prompt": f"p{step}"},
                    idempotency_key=None,
                )
                target["command"] = command["id"]
                position = command["position"]
            elif move == "claim":
                position = c.runs.claim(SYSTEM, target["run"], "runner", 60_000)["position"]
            elif move == "finish-turn" and "command" in target:
                position = c.commands.finish(SYSTEM, target["command"], Outcome("completed"))["position"]
            elif move == "finish":
                position = c.runs.finish(SYSTEM, target["run"], Outcome("failed"), claim_epoch=None)[
                    "position"
                ]
            elif move == "cancel":
                position = c.runs.cancel(SYSTEM, target["run"], None)["position"]
            elif move == "read":
                reader = rng.choice(READERS[:2])
                position = c.sessions.mark_read(SYSTEM, target["session"], reader)["position"]
        except Exception:  # noqa: BLE001 - a move illegal in the run's state is just skipped
            continue
    c.views.wait_for(position, 10)
    for reader in READERS:
        for profile in (None, "codex"):
            counts = c.sessions.counts(
                SYSTEM, backend_profile=profile, reader_id=reader, min_position=position
            )
            assert {state: counts[state] for state in STATES} == {
                state: listed(c, state, reader, profile) for state in STATES
            }, (reader, profile)
    t1 = Principal.of("p", ["auditor"], ["t1"])
    assert c.sessions.counts(t1, backend_profile=None, reader_id=None, min_position=None)["all"] == 8
