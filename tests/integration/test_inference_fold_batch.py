"""The inference task fold writes a batch in a few statements, and its rows equal a fold one by one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from application.access import SYSTEM, Principal
from domain.base import event_name
from domain.inference_task import InferenceRetention
from domain.timestamps import micros
from infrastructure.database import Database
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from projections.base import ViewCursor
from projections.inference_tasks import CHANGES, CREATED, InferenceTasks
from tests.support.clock import ManualClock
from tests.support.view_databases import filled_views
from tests.support.views import Views, dump_views

ALICE = Principal.of("alice", ["client"], ["*"])
BOB = Principal.of("bob", ["client"], ["*"])
Events = list[tuple[int, Any]]


@pytest.fixture
def store(settings: Settings) -> Iterator[tuple[Container, ManualClock]]:
    clock = ManualClock()
    c = Container(settings, clock=clock)  # not started: the test folds the log as it chooses
    yield c, clock
    c.close()


@pytest.fixture
def views(backend: str, tmp_path: Path) -> Iterator[Database]:
    """An empty view database of the store's backend, the folds' target."""
    with filled_views(backend, tmp_path, [InferenceTasks()], lambda db: None) as db:
        yield db


def life(c: Container, clock: ManualClock, task_id: str, owner: Principal, kind: int) -> Iterator[None]:
    """One task's life after its enqueue, a step per event (each yield: one event saved)."""
    tasks = c.inference_tasks
    if kind == 0:
        return  # stays pending
    if kind in (5, 7):  # ended while pending
        clock.advance(seconds=1)
        if kind == 5:
            tasks.cancel(owner, task_id)
        else:
            assert tasks.expire(task_id, 60)
        yield
        return
    assert tasks.claim(task_id, "w1", "c1") is not None
    yield
    if kind == 4:  # the worker went away: back in the queue, then another worker takes it
        assert tasks.revert(task_id, "w1", None, "disconnect")
        yield
        assert tasks.claim(task_id, "w2", "c2") is not None
        yield
    holder = "w2" if kind == 4 else "w1"
    if kind in (2, 4):
        tasks.post_chunk(SYSTEM, task_id, holder, "first", False)
        yield
    clock.advance(seconds=1)
    if kind == 6:
        tasks.cancel(owner, task_id)
    elif kind == 3:
        tasks.post_result(SYSTEM, task_id, holder, status=None, body={"e": 1}, error="boom")
    else:
        tasks.post_result(SYSTEM, task_id, holder, status=None, body={"answer": kind}, error=None)
    yield


def sweep(c: Container, clock: ManualClock, retention: InferenceRetention, ago: int) -> None:
    """A retention sweep of the tasks ended `ago` seconds ago or earlier; the next ones end later."""
    retention.sweep(micros(clock() - timedelta(seconds=ago)), 0, clock())
    c.log.save(retention)
    clock.advance(seconds=1)


def drive(c: Container, clock: ManualClock) -> Events:
    """A mix of task lives through the use cases, some task by task, some interleaved; two sweeps."""
    for worker in ("w1", "w2"):
        c.workers.register(SYSTEM, worker, [{"name": f"llm-{worker}", "model": "m"}])
    c.runner.catch_up()  # an enqueue routes by the registry view

    def enqueue(i: int) -> tuple[str, Principal, int]:
        owner = ALICE if i % 3 else BOB
        task = c.inference_tasks.enqueue(
            owner,
            llm_name="llm-w1",
            request={"n": i},
            stream=i % 2 == 0,
            agent_id=f"a{i % 2}",
            fail_fast=False,
        )
        return str(task["id"]), owner, i % 8

    retention = InferenceRetention.start(clock())
    first = [enqueue(i) for i in range(16)]
    for task_id, owner, kind in first:  # each task's events one after another
        for _ in life(c, clock, task_id, owner, kind):
            pass
    sweep(c, clock, retention, 0)
    # Tasks left pending before the sweep, and new ones, step by step in turn.
    rest = [(task_id, owner, 1 + n % 7) for n, (task_id, owner, kind) in enumerate(first) if kind == 0]
    lives = [life(c, clock, *task) for task in rest + [enqueue(i) for i in range(16, 40)]]
    while lives:
        lives = [steps for steps in lives if next(steps, "done") is None]
    sweep(c, clock, retention, 10)
    rest = [enqueue(i) for i in range(40, 44)]
    for task_id, owner, _ in rest:
        for _ in life(c, clock, task_id, owner, 2):
            break  # claimed, left there
    return [(n.id, c.log.decode(n)) for n in c.log.notifications(after=0, limit=10_000)]


def fold_into(cur: ViewCursor, events: Events, batch: int | None) -> None:
    """Fold the events from empty: one by one (`apply`), or in batches of `batch` (`apply_batch`)."""
    projection = InferenceTasks()
    for table in projection.tables:
        cur.execute(f"DELETE FROM {table}")
    if batch is None:
        for position, event in events:
            projection.apply(cur, event, position)
    else:
        for start in range(0, len(events), batch):
            projection.apply_batch(cur, events[start : start + batch])


def fold(db: Database, events: Events, batch: int | None) -> Views:
    """The view after folding the events from empty (see `fold_into`)."""
    with db.transaction() as cur:
        fold_into(cur, events, batch)
    return dump_views(db, [InferenceTasks()])


def assert_same(one_by_one: Views, batched: Views, batch: int) -> None:
    for table, rows in one_by_one.items():
        assert batched[table] == rows, (table, batch)


def test_batches_of_every_size_leave_the_rows_and_counts_a_fold_one_by_one_leaves(
    store: tuple[Container, ManualClock], views: Database
) -> None:
    events = drive(*store)
    folded = {event_name(e) for _, e in events}
    assert {CREATED, *CHANGES, "InferenceRetention.Swept"} <= folded  # every kind the fold handles

    one_by_one = fold(views, events, None)
    tasks, counts = one_by_one["inference_tasks"], one_by_one["inference_task_counts"]
    assert 10 < len(tasks) < 44  # the sweeps dropped some
    assert {row["status"] for row in tasks} == {"pending", "claimed", "completed", "error", "cancelled"}
    assert any(row["n"] == 0 for row in counts)  # rows a bump made that later moves emptied
    counted = {(row["owner_id"], row["status"]): row["n"] for row in counts if row["n"]}
    assert counted == Counter((row["owner_id"], row["status"]) for row in tasks)
    for batch in (3, 30, len(events)):
        assert_same(one_by_one, fold(views, events, batch), batch)


def test_a_batch_finds_no_row_for_a_task_never_created_and_keeps_a_task_created_twice(
    store: tuple[Container, ManualClock], views: Database
) -> None:
    events = drive(*store)
    created = [(p, e) for p, e in events if event_name(e) == CREATED]
    lost = created[-1][1].originator_id  # its later events find no row, as one by one
    twice = [(events[-1][0] + n + 1, e) for n, (_, e) in enumerate(created[:3])]
    odd = [(p, e) for p, e in events if not (event_name(e) == CREATED and e.originator_id == lost)] + twice
    one_by_one = fold(views, odd, None)
    assert lost not in {row["id"] for row in one_by_one["inference_tasks"]}
    for batch in (5, len(odd)):
        assert_same(one_by_one, fold(views, odd, batch), batch)


class Counting:
    """A cursor counting the statements sent through it."""

    def __init__(self, cur: ViewCursor) -> None:
        self.cur = cur
        self.statements = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> ViewCursor:
        self.statements += 1
        return self.cur.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], types: Sequence[str] = ()) -> None:
        self.statements += 1
        self.cur.executemany(sql, rows, types)

    def fetchone(self) -> dict[str, Any] | None:
        return self.cur.fetchone()

    def fetchall(self) -> list[dict[str, Any]]:
        return self.cur.fetchall()

    @property
    def rowcount(self) -> int:
        return self.cur.rowcount


def statements(db: Database, events: Events, batch: int | None) -> int:
    """How many statements folding the events from empty sends (the emptying not counted)."""
    with db.transaction() as cur:
        counting = Counting(cur)
        fold_into(counting, events, batch)
        return counting.statements - len(InferenceTasks.tables)


def test_thirty_task_lives_in_batches_of_thirty_events_take_four_statements_a_batch(
    store: tuple[Container, ManualClock], views: Database
) -> None:
    c, _ = store
    c.workers.register(SYSTEM, "w1", [{"name": "llm-w1", "model": "m"}])
    c.runner.catch_up()
    ids: list[str] = []
    for step in range(32):  # as under load: one task enqueued, the one before claimed, one completed
        if step < 30:
            task = c.inference_tasks.enqueue(
                ALICE, llm_name="llm-w1", request={"n": step}, stream=False, agent_id=None, fail_fast=False
            )
            ids.append(str(task["id"]))
        if 0 <= step - 1 < 30:
            assert c.inference_tasks.claim(ids[step - 1], "w1", "c1") is not None
        if 0 <= step - 2 < 30:
            c.inference_tasks.post_result(SYSTEM, ids[step - 2], "w1", status=None, body="ok", error=None)
    events = [(n.id, c.log.decode(n)) for n in c.log.notifications(after=0, limit=10_000)]
    events = [(p, e) for p, e in events if event_name(e).startswith("InferenceTask.")]
    assert len(events) == 90
    # One by one: an insert and a bump a creation, a read, an update and two bumps a status change.
    assert statements(views, events, None) == 30 * 2 + 60 * 4
    # A batch: one read, one insert, one update, one upsert of the counters; the first batch and
    # the whole log in one find no task there before them, so update none.
    assert statements(views, events, 30) == 3 + 4 + 4
    assert statements(views, events, 90) == 3
    assert_same(fold(views, events, None), fold(views, events, 30), 30)
