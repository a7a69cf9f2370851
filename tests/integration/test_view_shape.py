"""A view table of an older shape is dropped at startup and folded again from the log."""

from __future__ import annotations

from application.access import SYSTEM
from infrastructure.settings import Settings
from infrastructure.view_shape import declared_columns
from interfaces.bootstrap import Container
from projections.session_attention import INDEXES


def test_columns_are_read_from_a_tables_ddl_without_its_constraints() -> None:
    ddl = "a TEXT NOT NULL, b NUMERIC(10, 2), c BIGINT, PRIMARY KEY (a, c)"
    assert declared_columns(ddl) == ["a", "b", "c"]


def test_a_server_starts_on_session_views_that_predate_the_list_keys(settings: Settings) -> None:
    first = Container(settings)
    first.start()
    run = first.runs.create(
        SYSTEM, tenant_id="tenant-a", project_id="proj", backend_profile="codex",
        session_ref={"sessionId": "old-shape"}, resource_bundle_ref=None,
    )  # fmt: skip
    first.sessions.summary(SYSTEM, "old-shape", None, min_position=run["position"])
    with first.db.transaction() as cur:
        for statement in INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {statement.split()[5]}")
        cur.execute("ALTER TABLE session_summaries DROP COLUMN active_rank")
    first.close()

    second = Container(settings)
    second.start()
    try:
        items, _ = second.sessions.page(
            SYSTEM, state="all", backend_profile=None, reader_id=None, changed_since=None, limit=10,
            cursor=None, min_position=run["position"],
        )  # fmt: skip
        assert [item["sessionId"] for item in items] == ["old-shape"]
    finally:
        second.close()
