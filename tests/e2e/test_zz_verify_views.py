"""Runs last among the e2e tests: after every load the suite put on the shared servers, the views
equal a rebuild from the log (`agentrun projections rebuild --verify`, the real CLI)."""

from __future__ import annotations

from tests.support.server import Server
from tests.support.verify import verify_views


def test_views_of_the_shared_server_equal_a_rebuild_after_the_suite(server: Server) -> None:
    result = verify_views(server)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "views match the rebuild" in result.stdout
