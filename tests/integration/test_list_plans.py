"""Queue task and inference task lists read index ranges at 100k rows (EXPLAIN), never a full scan."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from infrastructure.database import Database
from projections import inference_queries, queue_task_queries
from projections.cursors import encode_cursor
from projections.inference_tasks import InferenceTasks
from projections.queue_tasks import QueueTasks
from tests.integration.test_session_list_index import Explaining, full_scans
from tests.support.datasets import Datasets
from tests.support.view_databases import run_statements

ROWS = 100_000
SERIES = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) "
QUEUE_ROWS = (
    SERIES + "INSERT INTO queue_tasks (task_id, tenant_id, project_id, queue, lane, priority, neg_priority, "
    "payload, payload_hash, state, version, attempts, created_at, created_us, updated_at) "
    "SELECT 'qt-' || CAST(i AS TEXT), 't' || CAST(i % 4 AS TEXT), 'p', 'q' || CAST(i % 5 AS TEXT), 'main', "
    "i % 10, -(i % 10), '{}', 'h', CASE WHEN i % 3 = 0 THEN 'pending' ELSE 'completed' END, i, 0, "
    "'2024-01-01T00:00:00Z', i, '2024-01-01T00:00:00Z' FROM n"
)
INFERENCE_ROWS = (
    SERIES + "INSERT INTO inference_tasks (id, seq, status, pool_name, llm_name, model, streaming, owner_id, "
    "agent_id, created_at, created_us, position) SELECT 'it-' || CAST(i AS TEXT), i, "
    "CASE WHEN i % 3 = 0 THEN 'pending' ELSE 'completed' END, 'pool' || CAST(i % 3 AS TEXT), 'llm', 'm', 0, "
    "'owner' || CAST(i % 7 AS TEXT), 'agent' || CAST(i % 11 AS TEXT), '2024-01-01T00:00:00Z', i, i FROM n"
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def views(request: pytest.FixtureRequest, datasets: Datasets) -> Iterator[Database]:
    projections = [QueueTasks(), InferenceTasks()]
    fill = run_statements(QUEUE_ROWS, INFERENCE_ROWS)
    with datasets.open("task-lists-100k", str(request.param), projections, fill) as db:
        yield db


def test_every_queue_task_list_reads_an_index(views: Database) -> None:
    filters = itertools.product((None, ["t1", "t2"]), (None, "q3"), (None, "pending"), (None, 50_000))
    for (tenants, queue, state, updated_after), after in itertools.product(filters, (False, True)):
        key = None if not after else ([50_000, "qt-50000"] if updated_after else [-5, 5_000, "qt-5000"])
        with views.read() as cur:
            explaining = Explaining(cur, views.dialect)
            queue_task_queries.list_tasks(
                explaining,  # type: ignore[arg-type]
                tenants=tenants, queue=queue, state=state, updated_after=updated_after, limit=50, after=key,
            )  # fmt: skip
        plan = explaining.plans[0]
        assert not full_scans(plan, views.dialect), (tenants, queue, state, plan)


def test_every_inference_task_list_reads_an_index(views: Database) -> None:
    filters = itertools.product((None, "owner3"), (None, "pending"), (None, "pool1"), (None, "agent2"))
    for (owner, status, pool, agent), cursor in itertools.product(filters, (None, encode_cursor([60_000]))):
        with views.read() as cur:
            explaining = Explaining(cur, views.dialect)
            inference_queries.list_tasks(
                explaining,  # type: ignore[arg-type]
                owner_id=owner, status=status, pool_name=pool, agent_id=agent, limit=50, cursor=cursor,
            )  # fmt: skip
        plan = explaining.plans[0]
        assert not full_scans(plan, views.dialect), (owner, status, pool, agent, plan)
