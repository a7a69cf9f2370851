"""Export and import of the whole log, the terminal tail and audit, through the real CLI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from application.access import SYSTEM
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.integration.test_rebuild import caught_up, cli
from tests.support.postgres import throwaway_database
from tests.support.views import dump_views, session_activity, wait_until


@contextmanager
def empty_store(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    target = tmp_path / "imported"
    if settings.database_url is None:
        yield Settings(AGENTRUN_DATA_DIR=target, AGENTRUN_AUTH="disabled")
        return
    with throwaway_database() as url:
        yield Settings(DATABASE_URL=url, AGENTRUN_DATA_DIR=target, AGENTRUN_AUTH="disabled")


def stored(container: Container) -> list[tuple[int, str, int, str, bytes]]:
    rows, last = [], 0
    while batch := container.log.notifications(after=last, limit=1000):
        rows += [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in batch]
        last = batch[-1].id
    return rows


def test_import_into_an_empty_store_reproduces_the_log_aggregates_and_views(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    run_ids = [session_activity(container, f"x{n}") for n in range(3)]
    assert wait_until(lambda: caught_up(container), 10)
    file = tmp_path / "log.jsonl"
    exported = cli(settings, "export", str(file))
    assert exported.returncode == 0, exported.stderr
    lines = file.read_bytes().splitlines()
    assert len(lines) == container.log.head() or len(lines) == len(stored(container))
    first = orjson.loads(lines[0])
    assert set(first) == {"position", "originatorId", "originatorVersion", "topic", "type", "state"}

    with empty_store(settings, tmp_path) as target:
        imported = cli(target, "import", str(file))
        assert imported.returncode == 0, imported.stderr
        again = cli(target, "import", str(file))
        assert again.returncode == 1 and "import needs an empty store" in again.stderr
        rebuilt = cli(target, "projections", "rebuild")
        assert rebuilt.returncode == 0, rebuilt.stderr
        copy = Container(target)
        try:
            assert stored(copy) == stored(container)
            for run_id in run_ids:
                assert vars(copy.log.get(run_id)) == vars(container.log.get(run_id))
            assert dump_views(copy.db, copy.projections) == dump_views(container.db, container.projections)
            later = copy.runs.create(
                SYSTEM,
                tenant_id="t",
                project_id="p",
                backend_profile="codex",
                session_ref=None,
                resource_bundle_ref=None,
            )
            assert later["position"] > container.log.head()
        finally:
            copy.close()


def test_tail_prints_the_log_after_a_position_and_audit_prints_history_and_state(
    container: Container, settings: Settings
) -> None:
    run_id = session_activity(container, "tail")
    head = container.log.head()
    tail = cli(settings, "events", "tail", "--after", str(head - 3), "--json")
    assert tail.returncode == 0, tail.stderr
    items = [orjson.loads(line) for line in tail.stdout.splitlines()]
    assert [i["position"] for i in items] == [p for p, _ in container.log_reader.read(head - 3, 10)]
    text = cli(settings, "events", "tail", "--types", "Run.Claimed", "--run-id", run_id)
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 1 and "Run.Claimed" in text.stdout

    whole = orjson.loads(cli(settings, "audit", run_id, "--json").stdout)
    claimed = next(h["aggregateVersion"] for h in whole["history"] if h["type"] == "Run.Claimed")
    audit = cli(settings, "audit", run_id, "--version", str(claimed), "--json")
    assert audit.returncode == 0, audit.stderr
    result = orjson.loads(audit.stdout)
    assert result["version"] == claimed and result["state"]["status"] == "claimed"
    assert result["history"] == whole["history"][:claimed]
    assert whole["state"]["status"] == "completed"
    human = cli(settings, "audit", run_id)
    assert human.returncode == 0 and "history:" in human.stdout and '"status": "completed"' in human.stdout
    missing = cli(settings, "audit", "run_nope")
    assert missing.returncode == 1 and "not found" in missing.stderr
