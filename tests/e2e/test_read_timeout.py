"""`minPosition` past the log's head: a view read waits `AGENTRUN_READ_TIMEOUT`, then answers 504.

The module's servers wait half a second rather than the default five: the same wait and answer,
for each family of views, without five seconds of waiting a test.
"""

from __future__ import annotations

from tests.e2e.test_queue_views import create
from tests.support.server import Server, error_kind, unique

MODULE_SERVER_ENV = {"AGENTRUN_READ_TIMEOUT": "0.5"}


def test_a_session_read_past_the_head_times_out(module_server: Server) -> None:
    client = module_server.client("client")
    session_id = unique("sess")
    run = client.create_run(session_id=session_id)
    response = client.get(f"/sessions/{session_id}", minPosition=run["position"] + 10**9)
    assert response.status_code == 504 and error_kind(response) == "timeout"


def test_a_queue_stats_read_past_the_head_times_out(module_server: Server) -> None:
    client = module_server.client("client")
    task = create(client, unique("q"))
    response = client.get("/queue/stats", minPosition=task["position"] + 10**9)
    assert response.status_code == 504 and error_kind(response) == "timeout"
