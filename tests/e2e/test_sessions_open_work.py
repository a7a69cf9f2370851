"""Sessions over HTTP when turns and runs finish out of order: terminal only when no work is open."""

from __future__ import annotations

from tests.e2e.test_sessions import (
    claim,
    command,
    finish_command,
    finish_run,
    start_session,
    summary,
)
from tests.support.server import Server, unique


def test_a_later_turn_finishing_first_leaves_the_session_running_on_the_earlier_turn(
    server: Server,
) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    first = command(client, run["id"], "turn", prompt="one")
    second = command(client, run["id"], "turn", prompt="two")

    finished_second = finish_command(runner, second["id"], "failed")
    state = summary(client, session_id)
    assert (state["executionState"], state["active"]) == ("running", True)
    assert (state["activeRunId"], state["activeCommandId"]) == (run["id"], first["id"])
    assert state["lastCommandId"] == second["id"]
    assert state["terminalStatus"] is None
    assert state["version"] == finished_second["position"]

    finished_first = finish_command(runner, first["id"], "completed")
    done = summary(client, session_id)
    assert (done["executionState"], done["active"]) == ("terminal", False)
    assert (done["terminalStatus"], done["failureKind"]) == ("completed", None)
    assert done["activeRunId"] is None and done["activeCommandId"] is None
    assert done["lastCommandId"] == first["id"]
    assert done["version"] == finished_first["position"]


def test_a_later_run_finishing_first_leaves_the_session_running_on_the_earlier_run(
    server: Server,
) -> None:
    client, runner = server.client("client"), server.client("runner")
    profile = unique("profile")
    session_id, first = start_session(client, profile)
    second = client.create_run(session_id=session_id, backendProfile=profile)
    claim(runner, first["id"])
    claim(runner, second["id"])
    assert summary(client, session_id)["activeRunId"] == second["id"]

    finished_second = finish_run(runner, second["id"], "blocked")
    state = summary(client, session_id)
    assert (state["executionState"], state["active"]) == ("running", True)
    assert state["activeRunId"] == first["id"]
    assert state["terminalStatus"] is None
    assert state["version"] == finished_second["position"]
    listed = client.ok(client.get("/sessions", state="running", backendProfile=profile))
    assert [s["sessionId"] for s in listed["items"]] == [session_id]

    finished_first = finish_run(runner, first["id"], "failed", failureKind="backend-error")
    done = summary(client, session_id)
    assert (done["executionState"], done["active"]) == ("terminal", False)
    assert (done["terminalStatus"], done["failureKind"]) == ("failed", "backend-error")
    assert done["activeRunId"] is None and done["lastRunId"] == first["id"]
    assert done["version"] == finished_first["position"]


def test_a_turn_of_one_run_keeps_the_session_running_after_another_run_finishes(
    server: Server,
) -> None:
    client, runner = server.client("client"), server.client("runner")
    profile = unique("profile")
    session_id, first = start_session(client, profile)
    turn = command(client, first["id"], "turn", prompt="long job")
    second = client.create_run(session_id=session_id, backendProfile=profile)
    claim(runner, second["id"])
    finish_run(runner, second["id"])
    state = summary(client, session_id)
    assert state["executionState"] == "running"
    assert (state["activeRunId"], state["activeCommandId"]) == (first["id"], turn["id"])

    finish_command(runner, turn["id"], "completed")
    assert summary(client, session_id)["executionState"] == "terminal"


def test_a_run_ending_closes_its_open_turns(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    profile = unique("profile")
    session_id, run = start_session(client, profile)
    command(client, run["id"], "turn", prompt="one")
    command(client, run["id"], "turn", prompt="two")
    claim(runner, run["id"])
    finished = finish_run(runner, run["id"], "failed", failureKind="backend-error")
    done = summary(client, session_id)
    assert (done["executionState"], done["terminalStatus"]) == ("terminal", "failed")
    assert done["activeRunId"] is None and done["activeCommandId"] is None
    assert done["version"] == finished["position"]


def test_cancelling_one_run_keeps_the_session_running_on_another(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    profile = unique("profile")
    session_id, first = start_session(client, profile)
    second = client.create_run(session_id=session_id, backendProfile=profile)
    claim(runner, first["id"])
    command(client, second["id"], "turn", prompt="cancel me")
    operator = server.client("operator")
    operator.ok(operator.post(f"/runs/{second['id']}/cancel", {"reason": "stop"}))
    state = summary(client, session_id)
    assert (state["executionState"], state["activeRunId"]) == ("running", first["id"])
    assert state["activeCommandId"] is None

    finish_run(runner, first["id"])
    done = summary(client, session_id)
    assert (done["executionState"], done["terminalStatus"]) == ("terminal", "completed")


def test_a_finished_turn_makes_the_session_terminal_and_unread_while_its_run_stays_claimed(
    server: Server,
) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    claim(runner, run["id"])
    turn = command(client, run["id"], "turn", prompt="one")
    assert summary(client, session_id)["executionState"] == "running"

    finish_command(runner, turn["id"], "completed")
    state = summary(client, session_id)
    assert (state["executionState"], state["active"], state["unread"]) == ("terminal", False, True)
    assert state["activeRunId"] is None and state["terminalStatus"] == "completed"
    assert client.ok(client.get(f"/runs/{run['id']}"))["status"] not in ("completed", "failed", "cancelled")
