"""`agentrun serve --workers N` whose store cannot open: one error line and exit 1, at once.

uvicorn respawns a worker process that fails to start, so before the check the server printed
the same traceback forever instead of exiting.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.support.server import free_port

pytestmark = pytest.mark.postgres


def test_a_store_that_cannot_open_ends_the_server_with_one_error_line(tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens there
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": nowhere, "AGENTRUN_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(free_port())]
    done = subprocess.run([*command, "--workers", "2"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stderr[-2000:]
    errors = [orjson.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [e["level"] for e in errors] == ["error"], done.stderr[-2000:]
    assert "cannot open the store" in errors[0]["message"]
    assert "Connection refused" in errors[0]["message"]
    assert "Traceback" not in done.stderr
