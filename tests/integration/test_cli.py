"""The `agentrun` command line, run as a process against a real store."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from application.access import SYSTEM
from infrastructure.settings import Settings
from interfaces.bootstrap import Container, all_projections
from tests.support.cli_fork import run_cli


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "AGENTRUN_"))}
    env["AGENTRUN_DATA_DIR"] = str(settings.data_dir)
    env["AGENTRUN_AUTH"] = "disabled"
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return env


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in a process forked from one that imported the CLI already."""
    return run_cli(list(args), _env(settings), timeout=60)


def _cli_from_a_fresh_interpreter(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = _env(settings)
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_projections_status_shows_position_head_and_lag(settings: Settings) -> None:
    # Writes made while no runner is running leave the views behind the head.
    container = Container(settings)
    for _ in range(3):
        container.runs.create(
            SYSTEM,
            tenant_id="t",
            project_id="p",
            backend_profile="codex",
            session_ref=None,
            resource_bundle_ref=None,
        )
    head = container.log.head()
    container.close()

    result = _cli(settings, "projections", "status", "--json")
    assert result.returncode == 0, result.stderr
    rows = orjson.loads(result.stdout)
    names = sorted(p.name for p in all_projections())
    assert [row["name"] for row in rows] == names and "session_summaries" in names
    for row in rows:
        assert {k: row[k] for k in ("position", "headPosition", "lag")} == {
            "position": 0,
            "headPosition": head,
            "lag": head,
        }


def test_unknown_command_exits_with_usage(settings: Settings) -> None:
    # `python -m interfaces.cli` from a fresh interpreter: the module runs as a program.
    result = _cli_from_a_fresh_interpreter(settings, "frobnicate")
    assert result.returncode == 2
    assert "usage: agentrun" in result.stderr


def test_a_setting_that_cannot_be_read_is_one_line_naming_it_not_a_traceback(settings: Settings) -> None:
    env = {**_env(settings), "AGENTRUN_LOG_LEVEL": "loud", "AGENTRUN_POOL_SIZE": "0"}
    done = run_cli(["projections", "status"], env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert line.startswith("agentrun: ") and "\n" not in line
    assert "AGENTRUN_LOG_LEVEL: Input should be 'critical', 'error', 'warning', 'info' or 'debug'" in line
    assert "AGENTRUN_POOL_SIZE: Input should be greater than or equal to 1" in line
