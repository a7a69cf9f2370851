"""Inference task counts by status come from counters that always equal the task view's rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from application.access import SYSTEM, Principal
from domain.inference_task import STATUSES, InferenceRetention, InferenceTask
from domain.timestamps import micros
from infrastructure.settings import Settings
from interfaces.bootstrap import Container


@pytest.fixture
def store(settings: Settings) -> Iterator[Container]:
    c = Container(settings)
    yield c
    c.close()


def task(owner: str, now: datetime) -> InferenceTask:
    return InferenceTask.enqueue(
        pool_name="p", llm_name="l", model="m", tier=None, request_body={}, streaming=False,
        owner_id=owner, agent_id=None, now=now,
    )  # fmt: skip


def from_rows(c: Container, owner: str | None) -> dict[str, int]:
    with c.views.read() as cur:
        rows = cur.execute("SELECT owner_id, status FROM inference_tasks").fetchall()
    return {s: sum(1 for r in rows if r["status"] == s and owner in (None, r["owner_id"])) for s in STATUSES}


def test_counts_follow_every_status_change_and_the_retention_sweep(store: Container) -> None:
    old = datetime.now(UTC) - timedelta(days=30)
    tasks = [task("alice" if i % 3 else "bob", old) for i in range(12)]
    store.log.save(*tasks)
    for i, t in enumerate(tasks):
        if i % 4 == 0:
            continue  # stays pending
        t.claim("w1", "c1", old)
        if i % 4 == 2:
            t.start_streaming("w1", old)
        if i % 4 == 3:
            t.complete("w1", {"ok": True}, old)
        if i == 5:
            t.revert("w1", "c1", "disconnect", old)
    tasks[8].cancel("bob", old)
    store.log.save(*tasks)
    store.runner.catch_up()
    alice = Principal.of("alice", ["client"], ["*"])
    assert store.inference_tasks.counts(SYSTEM, None) == from_rows(store, None)
    assert store.inference_tasks.counts(alice, None) == from_rows(store, "alice")
    assert sum(from_rows(store, None).values()) == 12 and from_rows(store, None)["completed"] == 3

    retention = InferenceRetention.start(datetime.now(UTC))
    retention.sweep(micros(datetime.now(UTC)), 0, datetime.now(UTC))
    store.log.save(retention)
    store.runner.catch_up()
    assert from_rows(store, None)["completed"] == 0
    assert store.inference_tasks.counts(SYSTEM, None) == from_rows(store, None)
