"""Rebuilds beside the live views: swapped in while the runner runs, and verified row by row."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from infrastructure.rebuild import Rebuild
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.support.cli_fork import run_cli
from tests.support.views import assert_views_match_rebuild, positions, session_activity, wait_until


def caught_up(c: Container) -> bool:
    head = c.log.head()
    return set(positions(c.db, c.projections).values()) == {head}


def tamper(c: Container) -> None:
    with c.db.transaction() as cur:
        assert cur.execute("UPDATE session_summaries SET title = 'tampered'").rowcount > 0


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "AGENTRUN_"))}
    env["AGENTRUN_DATA_DIR"] = str(settings.data_dir)
    env["AGENTRUN_AUTH"] = "disabled"
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return run_cli(list(args), env, timeout=120)  # its own process, as `python -m interfaces.cli`


def test_rebuild_swaps_in_fresh_views_while_writers_and_the_runner_keep_going(container: Container) -> None:
    for n in range(4):
        session_activity(container, f"before{n}")
    assert wait_until(lambda: caught_up(container), 10)
    tamper(container)
    job = Rebuild(container.log, container.db, container.projections, container.settings.data_dir)
    try:
        writers = [threading.Thread(target=session_activity, args=(container, f"mid{n}")) for n in range(3)]
        for w in writers:
            w.start()
        job.build()
        job.swap()
        for w in writers:
            w.join()
    finally:
        job.close()
    assert wait_until(lambda: caught_up(container), 10)
    live = assert_views_match_rebuild(container.log, container.db, container.projections)
    assert all(row["title"] != "tampered" for row in live["session_summaries"])
    assert len(live["session_summaries"]) == 7


def test_verify_finds_no_difference_in_healthy_views_and_each_tampered_row(container: Container) -> None:
    for n in range(3):
        session_activity(container, f"v{n}")
    assert wait_until(lambda: caught_up(container), 10)
    job = Rebuild(container.log, container.db, container.projections, container.settings.data_dir)
    try:
        job.build(upto=min(job.live_positions().values()))
        assert job.verify().equal
    finally:
        job.close()
    tamper(container)
    job = Rebuild(container.log, container.db, container.projections, container.settings.data_dir)
    try:
        job.build()
        diff = job.verify()
    finally:
        job.close()
    assert len(diff.differences) == 3
    assert all("title: live 'tampered'" in d.describe() for d in diff.differences)
    assert diff.counts["session_summaries"] == (3, 3)


def test_verify_compares_at_the_live_position_when_the_views_lag(settings: Settings) -> None:
    # No runner: the views stay at 0 while the log grows, and an empty view equals a rebuild to 0.
    container = Container(settings)
    try:
        session_activity_without_views(container)
        job = Rebuild(container.log, container.db, container.projections, settings.data_dir)
        try:
            job.build(upto=0)
            assert job.verify().equal
        finally:
            job.close()
    finally:
        container.close()


def session_activity_without_views(container: Container) -> None:
    from application.access import SYSTEM

    container.runs.create(
        SYSTEM,
        tenant_id="tenant-a",
        project_id="p",
        backend_profile="codex",
        session_ref={"sessionId": "lagging"},
        resource_bundle_ref=None,
    )


def test_cli_rebuild_then_verify_exits_0_and_a_tampered_view_exits_1(settings: Settings) -> None:
    container = Container(settings)
    container.start()
    try:
        for n in range(3):
            session_activity(container, f"cli{n}")
        assert wait_until(lambda: caught_up(container), 10)
        rebuilt = cli(settings, "projections", "rebuild")
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "rebuilt and swapped in session_summaries" in rebuilt.stdout
        verified = cli(settings, "projections", "rebuild", "--verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "views match the rebuild" in verified.stdout
        tamper(container)
        failed = cli(settings, "projections", "rebuild", "--verify", "session_summaries")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "3 differing rows" in failed.stdout and "tampered" in failed.stdout
    finally:
        container.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_cli_refuses_an_unknown_projection(settings: Settings) -> None:
    result = cli(settings, "projections", "rebuild", "no_such_view")
    assert result.returncode != 0 and "unknown projection" in result.stderr
