"""A poison event stalls only its projection (ADR 0031), on both stores: the others keep up, reads
that need the stalled one are unavailable at once, the stall survives a restart, retry tries again,
a skip recorded in the log resumes it, and a rebuild that honours the skip equals the live views."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.access import SYSTEM
from application.errors import NotFoundError
from application.projection_skips import ProjectionSkips
from domain.errors import ConflictError
from infrastructure.projection_state import StallBoard, progress_rows, states
from infrastructure.rebuild import Rebuild
from infrastructure.settings import Settings
from infrastructure.signals import poll_until
from interfaces.bootstrap import Container, all_projections, utc_now
from projections.base import ProjectionStalledError
from tests.support.poison import POISON_TYPE, POISONED, store_poison

OTHERS = [p.name for p in all_projections() if p.name != POISONED]


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"projection_retry_backoff": 0.01, "projection_max_tries": 3})


@pytest.fixture
def started(fast: Settings) -> Iterator[Container]:
    c = Container(fast)
    c.start()
    yield c
    c.close()


def new_task(c: Container, n: int) -> dict[str, Any]:
    task, _ = c.queue_tasks.create(
        SYSTEM,
        tenant_id="t",
        project_id="p",
        queue="q",
        lane="l",
        priority=n,
        payload={"n": n},
        idempotency_key=None,
    )
    return task


def page(c: Container, min_position: int) -> list[dict[str, Any]]:
    items, _ = c.queue_tasks.page(
        SYSTEM, queue="q", state=None, updated_after=None, limit=10, cursor=None, min_position=min_position
    )
    return items


def stall_of(c: Container) -> dict[str, Any] | None:
    state = states(c.db, [POISONED])[POISONED]
    return state.error if state.stalled else None


def wait_stalled(c: Container, since: str | None = None) -> dict[str, Any]:
    def stalled() -> bool:
        stall = stall_of(c)
        return stall is not None and stall["since"] != since

    assert poll_until(stalled, c.advanced_signal, 15, 0.05), rows_of(c)
    stall = stall_of(c)
    assert stall is not None
    return stall


def control(c: Container) -> ProjectionSkips:
    return ProjectionSkips(c.log, StallBoard(c.db), utc_now, [p.name for p in c.projections])


def test_a_poison_event_stalls_only_its_projection_until_skipped(started: Container, fast: Settings) -> None:
    c = started
    before = new_task(c, 1)
    assert c.views.wait_for(None, 10)
    with pytest.raises(NotFoundError):
        control(c).retry("no_such_view")
    with pytest.raises(ConflictError, match="not stalled"):
        control(c).retry(POISONED)
    with pytest.raises(ConflictError, match="not stalled"):
        control(c).skip(POISONED, before["position"], "healthy")

    poison = store_poison(c.log, before["id"])
    after = new_task(c, 2)
    head = c.log.head()

    stall = wait_stalled(c)
    assert stall["position"] == poison and stall["eventType"] == POISON_TYPE
    assert "AttributeError" in stall["message"] and stall["since"].endswith("Z")
    # The others keep up, and reads of them with minPosition answer.
    assert c.views.wait_for(head, 10, OTHERS)
    c.queue_tasks.stats(SYSTEM, "q", head)
    rows = {row["name"]: row for row in rows_of(c)}
    assert rows[POISONED]["status"] == "stalled" and rows[POISONED]["error"] == stall
    # Stalled just before the poison: the read marks' creation, stored with it, is folded.
    assert before["position"] < rows[POISONED]["position"] == poison - 1
    assert all(rows[name]["status"] == "caught-up" and rows[name]["error"] is None for name in OTHERS)
    # A read that needs the stalled projection past the poison answers at once, naming it.
    with pytest.raises(ProjectionStalledError) as raised:
        page(c, head)
    assert raised.value.kind == "unavailable"
    assert raised.value.details == {"projection": POISONED, "position": poison}
    # ... but a read that needs it only up to before the poison answers.
    page(c, before["position"])

    # The stall is in the store: a restarted runner does not fold past it.
    c.close()
    c2 = Container(fast)
    c2.start()
    try:
        assert stall_of(c2) == stall

        # Retry tries the event again; still poison, so it stalls again, later.
        with pytest.raises(ConflictError):
            control(c2).skip(POISONED, poison - 1, "not the stalled event")
        assert control(c2).retry(POISONED) == stall
        again = wait_stalled(c2, since=stall["since"])
        assert again["position"] == poison

        at, skipped = control(c2).skip(POISONED, poison, "a read mark without its reader")
        assert at > head and skipped["position"] == poison
        assert c2.views.wait_for(at, 10, [POISONED])
        assert stall_of(c2) is None
        assert {after["id"], before["id"]} <= {item["id"] for item in page(c2, at)}
        with pytest.raises(ConflictError):
            control(c2).retry(POISONED)

        # A rebuild reads the skip from the log and skips the same event: it equals the live views.
        job = Rebuild(c2.log, c2.db, c2.projections, fast.data_dir)
        try:
            job.build(upto=min(job.live_positions().values()))
            diff = job.verify()
        finally:
            job.close()
        assert diff.equal, [d.describe() for d in diff.differences[:5]]
    finally:
        c2.close()


def rows_of(c: Container) -> list[dict[str, Any]]:
    return progress_rows(c.db, c.log, [p.name for p in c.projections])
