"""Run `agentrun projections rebuild --verify` against a running server's store."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.server import Server


def verify_views(server: Server, *names: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "AGENTRUN_"))}
    env["AGENTRUN_DATA_DIR"] = str(server.data_dir)
    env["AGENTRUN_AUTH"] = "disabled"
    if server.database_url:
        env["DATABASE_URL"] = server.database_url
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "projections", "rebuild", "--verify", *names],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
