"""Sessions over HTTP: summaries, versions, boundaries, read cursors, traces, read-your-writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.server import Api, Server, error_kind, unique

RUNNER = "runner-1"


# -- helpers (also used by test_session_list.py) --------------------------------------


def start_session(
    api: Api, profile: str, session_id: str | None = None, **ref: Any
) -> tuple[str, dict[str, Any]]:
    """A new session (and its first run) in tenant-a/proj under `profile`."""
    session_id = session_id or unique("sess")
    run = api.create_run(session_id=session_id, backendProfile=profile, sessionRefExtra=ref)
    return session_id, run


def summary(api: Api, session_id: str, reader: str | None = None, **params: Any) -> dict[str, Any]:
    return api.ok(api.get(f"/sessions/{session_id}", readerId=reader, **params))


def command(api: Api, run_id: str, type_: str, **payload: Any) -> dict[str, Any]:
    return api.ok(api.post(f"/runs/{run_id}/commands", {"type": type_, "payload": payload}), 201)


def claim(runner: Api, run_id: str) -> dict[str, Any]:
    return runner.ok(runner.post(f"/runs/{run_id}/claim", {"runnerId": RUNNER, "leaseMs": 60_000}))


def event(runner: Api, run_id: str, type_: str, **payload: Any) -> dict[str, Any]:
    return runner.ok(runner.post(f"/runs/{run_id}/events", {"type": type_, "payload": payload}), 201)


def finish_run(runner: Api, run_id: str, status: str = "completed", **extra: Any) -> dict[str, Any]:
    return runner.ok(runner.post(f"/runs/{run_id}/finish", {"terminalStatus": status, **extra}))


def finish_command(runner: Api, command_id: str, status: str = "completed") -> dict[str, Any]:
    return runner.ok(runner.post(f"/commands/{command_id}/finish", {"terminalStatus": status}))


def at(instant: str) -> datetime:
    return datetime.fromisoformat(instant)


def mark_read(api: Api, session_id: str, reader: str) -> dict[str, Any]:
    return api.ok(api.post(f"/sessions/{session_id}/read", {"readerId": reader}))


# -- the summary ----------------------------------------------------------------------


def test_first_run_creates_a_session_with_every_summary_field(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    profile = unique("profile")
    session_id, run = start_session(
        client,
        profile,
        conversationId="conv-1",
        threadId="thread-1",
        metadata={"topic": "billing", "n": 3},
        expiresAt="2099-01-01T00:00:00Z",
    )
    created = summary(client, session_id)
    assert set(created) == {
        "sessionId", "tenantId", "projectId", "backendProfile", "conversationId", "threadId",
        "metadata", "version", "executionState", "lastRunId", "lastCommandId", "activeRunId",
        "activeCommandId", "lastEventSeq", "terminalStatus", "failureKind", "title",
        "lastActivityAt", "createdAt", "updatedAt", "expiresAt", "sessionPath", "readerId",
        "readCursor", "attentionState", "active", "unread",
    }  # fmt: skip
    assert created["sessionId"] == session_id
    assert created["tenantId"] == "tenant-a" and created["projectId"] == "proj"
    assert created["backendProfile"] == profile
    assert created["sessionPath"] == f"tenant-a/proj/{session_id}"
    assert (created["conversationId"], created["threadId"]) == ("conv-1", "thread-1")
    assert created["metadata"] == {"topic": "billing", "n": 3}
    assert created["expiresAt"] == "2099-01-01T00:00:00Z"
    assert 0 < created["version"] <= run["position"]
    assert created["executionState"] == "idle"
    assert created["lastRunId"] == run["id"]
    assert created["lastCommandId"] is None and created["activeRunId"] is None
    assert created["activeCommandId"] is None
    assert created["lastEventSeq"] == 0
    assert created["terminalStatus"] is None and created["failureKind"] is None
    assert created["title"] is None
    assert created["createdAt"].endswith("Z") and created["lastActivityAt"].endswith("Z")
    assert at(created["updatedAt"]) >= at(created["createdAt"])
    assert created["readerId"] is None and created["readCursor"] is None

    prompt = "  Fix   the\n\tflaky   test " + "x" * 200
    turn = command(client, run["id"], "turn", prompt=prompt)
    running = summary(client, session_id)
    assert running["title"] == ("Fix the flaky test " + "x" * 200)[:120]
    assert len(running["title"]) == 120
    assert running["executionState"] == "running"
    assert (running["activeRunId"], running["activeCommandId"]) == (run["id"], turn["id"])
    assert running["lastCommandId"] == turn["id"]
    assert (running["active"], running["attentionState"]) == (True, "active")

    claim(runner, run["id"])
    event(runner, run["id"], "backend_status", state="busy")
    appended = event(runner, run["id"], "assistant_message", text="done")
    assert summary(client, session_id)["lastEventSeq"] == appended["seq"] == 2

    finish_command(runner, turn["id"])
    finished = finish_run(runner, run["id"], "failed", failureKind="backend-error")
    done = summary(client, session_id)
    assert done["executionState"] == "terminal"
    assert (done["terminalStatus"], done["failureKind"]) == ("failed", "backend-error")
    assert done["activeRunId"] is None and done["activeCommandId"] is None
    assert done["lastRunId"] == run["id"]
    assert done["lastEventSeq"] == 3  # the run's own terminal_status event
    assert done["version"] == finished["position"]
    assert at(done["lastActivityAt"]) >= at(running["lastActivityAt"])
    assert (done["active"], done["unread"], done["attentionState"]) == (False, True, "unread")


def test_title_comes_from_the_first_turn_only(server: Server) -> None:
    client = server.client("client")
    session_id, run = start_session(client, unique("profile"))
    command(client, run["id"], "steer", prompt="not a turn")
    assert summary(client, session_id)["title"] is None
    command(client, run["id"], "turn", prompt="first\n\nprompt")
    command(client, run["id"], "turn", prompt="second prompt")
    assert summary(client, session_id)["title"] == "first prompt"


def test_claiming_a_run_makes_the_session_running(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    claim(runner, run["id"])
    claimed = summary(client, session_id)
    assert claimed["executionState"] == "running"
    assert claimed["activeRunId"] == run["id"]
    assert claimed["active"] is True and claimed["unread"] is False


def test_steer_alone_does_not_make_a_session_running(server: Server) -> None:
    client = server.client("client")
    session_id, run = start_session(client, unique("profile"))
    steer = command(client, run["id"], "steer", text="left")
    state = summary(client, session_id)
    assert state["executionState"] == "idle" and state["active"] is False
    assert state["activeRunId"] is None and state["lastCommandId"] == steer["id"]


def test_finishing_a_turn_while_a_later_turn_is_queued_keeps_the_session_running(
    server: Server,
) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    first = command(client, run["id"], "turn", prompt="one")
    second = command(client, run["id"], "turn", prompt="two")
    finish_command(runner, first["id"])
    state = summary(client, session_id)
    assert (state["executionState"], state["active"]) == ("running", True)
    assert (state["activeRunId"], state["activeCommandId"]) == (run["id"], second["id"])
    finish_command(runner, second["id"])
    assert summary(client, session_id)["executionState"] == "terminal"


def test_finishing_one_run_while_another_run_of_the_session_runs_keeps_it_running(
    server: Server,
) -> None:
    client, runner = server.client("client"), server.client("runner")
    profile = unique("profile")
    session_id, first = start_session(client, profile)
    second = client.create_run(session_id=session_id, backendProfile=profile)
    claim(runner, first["id"])
    claim(runner, second["id"])
    finish_run(runner, first["id"])
    state = summary(client, session_id)
    assert (state["executionState"], state["active"]) == ("running", True)
    assert state["activeRunId"] == second["id"]
    finish_run(runner, second["id"], "blocked")
    done = summary(client, session_id)
    assert (done["executionState"], done["terminalStatus"]) == ("terminal", "blocked")
    assert done["activeRunId"] is None


def test_unknown_session_is_not_found(server: Server) -> None:
    response = server.client("client").get(f"/sessions/{unique('missing')}")
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


# -- version --------------------------------------------------------------------------


def test_turn_created_raises_session_version(server: Server) -> None:
    client = server.client("client")
    session_id, run = start_session(client, unique("profile"))
    before = summary(client, session_id)["version"]
    turn = command(client, run["id"], "turn", prompt="go")
    after = summary(client, session_id)["version"]
    assert after > before
    assert after == turn["position"]


def test_steer_created_raises_session_version(server: Server) -> None:
    client = server.client("client")
    session_id, run = start_session(client, unique("profile"))
    command(client, run["id"], "turn", prompt="go")
    before = summary(client, session_id)["version"]
    steer = command(client, run["id"], "steer", text="left")
    after = summary(client, session_id)["version"]
    assert after > before and after == steer["position"]


def test_turn_finished_and_turn_cancelled_raise_session_version(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    operator = server.client("operator")
    session_id, run = start_session(client, unique("profile"))
    first = command(client, run["id"], "turn", prompt="one")
    finished = finish_command(runner, first["id"])
    assert summary(client, session_id)["version"] == finished["position"] > first["position"]

    second = command(client, run["id"], "turn", prompt="two")
    cancelled = operator.ok(operator.post(f"/commands/{second['id']}/cancel", {"reason": "no"}))
    state = summary(client, session_id)
    assert state["version"] == cancelled["position"] > second["position"]
    assert state["executionState"] == "terminal"


def test_run_finished_raises_session_version(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    claim(runner, run["id"])
    before = summary(client, session_id)["version"]
    finished = finish_run(runner, run["id"])
    after = summary(client, session_id)
    assert after["version"] > before and after["version"] == finished["position"]
    assert (after["executionState"], after["terminalStatus"]) == ("terminal", "completed")


def test_run_cancelled_raises_session_version(server: Server) -> None:
    client, operator = server.client("client"), server.client("operator")
    session_id, run = start_session(client, unique("profile"))
    turn = command(client, run["id"], "turn", prompt="go")
    cancelled = operator.ok(operator.post(f"/runs/{run['id']}/cancel", {"reason": "stop"}))
    after = summary(client, session_id)
    assert after["version"] > turn["position"] and after["version"] == cancelled["position"]
    assert (after["executionState"], after["terminalStatus"]) == ("terminal", "cancelled")
    assert after["activeRunId"] is None and after["activeCommandId"] is None
    assert operator.ok(operator.get(f"/commands/{turn['id']}"))["state"] == "cancelled"


def test_events_claims_interrupts_and_acks_leave_session_version_alone(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    turn = command(client, run["id"], "turn", prompt="go")
    version = summary(client, session_id)["version"]

    claimed = claim(runner, run["id"])
    assert summary(client, session_id, minPosition=claimed["position"])["version"] == version
    appended = event(runner, run["id"], "assistant_message", text="hi")
    state = summary(client, session_id, minPosition=appended["position"])
    assert state["version"] == version and state["lastEventSeq"] == appended["seq"]
    interrupt = command(client, run["id"], "interrupt")
    assert summary(client, session_id, minPosition=interrupt["position"])["version"] == version
    acked = runner.ok(runner.post(f"/commands/{turn['id']}/ack"))
    assert acked["state"] == "acknowledged"
    assert summary(client, session_id, minPosition=acked["position"])["version"] == version
    finished_interrupt = finish_command(runner, interrupt["id"])
    after = summary(client, session_id, minPosition=finished_interrupt["position"])
    assert after["version"] == version


def test_replays_and_repeated_finishes_leave_session_version_alone(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    body = {"type": "turn", "payload": {"prompt": "once"}, "idempotencyKey": unique("key")}
    client.ok(client.post(f"/runs/{run['id']}/commands", body), 201)
    version = summary(client, session_id)["version"]
    client.ok(client.post(f"/runs/{run['id']}/commands", body), 200)
    assert summary(client, session_id)["version"] == version

    finished = finish_run(runner, run["id"])
    again = finish_run(runner, run["id"])
    assert again["status"] == finished["status"] == "completed"
    assert summary(client, session_id)["version"] == finished["position"]


def test_versions_are_comparable_across_sessions(server: Server) -> None:
    client = server.client("client")
    first_id, first_run = start_session(client, unique("profile"))
    second_id, _ = start_session(client, unique("profile"))
    assert summary(client, second_id)["version"] > summary(client, first_id)["version"]
    command(client, first_run["id"], "turn", prompt="later")
    assert summary(client, first_id)["version"] > summary(client, second_id)["version"]


# -- session boundaries ---------------------------------------------------------------


# A session id of another tenant, project or backend profile (403 tenant-policy-denied, 422):
# unit/test_session (boundary rules) and the POST /runs wiring in test_runs.py.


def test_second_run_of_same_tenant_project_and_profile_joins_the_session(server: Server) -> None:
    client = server.client("client")
    profile = unique("profile")
    session_id, first = start_session(client, profile, conversationId="conv-9")
    version = summary(client, session_id)["version"]
    second = client.create_run(session_id=session_id, backendProfile=profile)
    assert second["id"] != first["id"]
    assert second["sessionRef"]["sessionId"] == session_id
    assert second["sessionRef"]["conversationId"] == "conv-9"
    joined = summary(client, session_id)
    assert joined["lastRunId"] == second["id"]
    assert joined["version"] == version  # a run joining is not a change readers must see
    assert joined["conversationId"] == "conv-9"


# -- read cursors and attention -------------------------------------------------------


def test_each_reader_has_its_own_read_cursor(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    alice, bob = unique("alice"), unique("bob")

    fresh = summary(client, session_id, alice)
    assert (fresh["attentionState"], fresh["active"], fresh["unread"]) == ("unread", False, True)
    assert fresh["readerId"] == alice and fresh["readCursor"] is None

    turn = command(client, run["id"], "turn", prompt="one")
    busy = summary(client, session_id, alice)
    assert (busy["attentionState"], busy["active"], busy["unread"]) == ("active", True, False)

    finish_command(runner, turn["id"])
    done = summary(client, session_id, alice)
    assert (done["attentionState"], done["unread"]) == ("unread", True)

    marked = mark_read(client, session_id, alice)
    assert set(marked) == {"sessionId", "readerId", "sessionVersion", "readAt", "position"}
    assert (marked["sessionId"], marked["readerId"]) == (session_id, alice)
    assert marked["sessionVersion"] == done["version"]
    assert marked["position"] > done["version"] and marked["readAt"].endswith("Z")
    read = summary(client, session_id, alice)
    assert (read["attentionState"], read["active"], read["unread"]) == ("read", False, False)
    assert read["readCursor"] == {
        "sessionId": session_id,
        "readerId": alice,
        "sessionVersion": done["version"],
        "readAt": marked["readAt"],
    }
    assert read["version"] == done["version"]  # marking read is not a session change
    assert summary(client, session_id, bob)["attentionState"] == "unread"

    second = command(client, run["id"], "turn", prompt="two")
    finish_command(runner, second["id"])
    again = summary(client, session_id, alice)
    assert (again["attentionState"], again["unread"]) == ("unread", True)
    assert again["readCursor"]["sessionVersion"] == done["version"] < again["version"]

    mark_read(client, session_id, bob)
    assert summary(client, session_id, bob)["attentionState"] == "read"
    assert summary(client, session_id, alice)["attentionState"] == "unread"
    assert summary(client, session_id)["readCursor"] is None


def test_marking_a_running_session_read_keeps_it_active(server: Server) -> None:
    client = server.client("client")
    session_id, run = start_session(client, unique("profile"))
    turn = command(client, run["id"], "turn", prompt="go")
    reader = unique("reader")
    marked = mark_read(client, session_id, reader)
    assert marked["sessionVersion"] == turn["position"]
    state = summary(client, session_id, reader)
    assert (state["attentionState"], state["active"], state["unread"]) == ("active", True, False)
    assert state["readCursor"]["sessionVersion"] == state["version"]


def test_marking_read_again_moves_the_cursor_forward(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    reader = unique("reader")
    first = mark_read(client, session_id, reader)
    turn = command(client, run["id"], "turn", prompt="go")
    finished = finish_command(runner, turn["id"])
    second = mark_read(client, session_id, reader)
    assert second["sessionVersion"] == finished["position"] > first["sessionVersion"]
    assert second["position"] > first["position"]
    assert summary(client, session_id, reader)["attentionState"] == "read"


def test_mark_read_of_an_unknown_session_is_not_found(server: Server) -> None:
    client = server.client("client")
    response = client.post(f"/sessions/{unique('missing')}/read", {"readerId": "r"})
    assert response.status_code == 404
    assert error_kind(response) == "not-found"


def test_mark_read_without_reader_is_schema_invalid(server: Server) -> None:
    client = server.client("client")
    session_id, _ = start_session(client, unique("profile"))
    for body in ({}, {"readerId": ""}, {"readerId": 7}, {"readerId": "r", "extra": 1}):
        response = client.post(f"/sessions/{session_id}/read", body)
        assert response.status_code == 422, body
        assert error_kind(response) == "schema-invalid"


# -- trace and output -----------------------------------------------------------------


def test_trace_follows_the_active_run_then_the_last_run(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, first = start_session(client, unique("profile"))
    assert client.ok(client.get(f"/sessions/{session_id}/trace"))["items"] == []

    claim(runner, first["id"])
    event(runner, first["id"], "assistant_message", text="first run")
    trace = client.ok(client.get(f"/sessions/{session_id}/trace"))
    assert trace["runId"] == first["id"] and trace["sessionId"] == session_id
    assert [e["payload"] for e in trace["items"]] == [{"text": "first run"}]
    finish_run(runner, first["id"])

    second = client.create_run(session_id=session_id, backendProfile=first["backendProfile"])
    claim(runner, second["id"])
    event(runner, second["id"], "assistant_message", text="second run")
    active = client.ok(client.get(f"/sessions/{session_id}/trace"))
    assert active["runId"] == second["id"]
    assert [e["payload"] for e in active["items"]] == [{"text": "second run"}]

    finish_run(runner, second["id"])
    last = client.ok(client.get(f"/sessions/{session_id}/trace"))
    assert last["runId"] == second["id"]
    assert [e["type"] for e in last["items"]] == ["assistant_message", "terminal_status"]

    earlier = client.ok(client.get(f"/sessions/{session_id}/trace", runId=first["id"]))
    assert earlier["runId"] == first["id"]
    assert [e["type"] for e in earlier["items"]] == ["assistant_message", "terminal_status"]


def test_trace_of_a_run_of_another_session_is_not_found(server: Server) -> None:
    client = server.client("client")
    session_id, _ = start_session(client, unique("profile"))
    _, foreign = start_session(client, unique("profile"))
    loose = client.create_run()
    for run_id in (foreign["id"], loose["id"], unique("run")):
        for view in ("trace", "output"):
            response = client.get(f"/sessions/{session_id}/{view}", runId=run_id)
            assert response.status_code == 404, (view, run_id)
            assert error_kind(response) == "not-found"


def test_output_keeps_only_what_the_agent_said_and_did(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    claim(runner, run["id"])
    types = [
        "backend_status", "assistant_message", "reasoning", "tool_call", "tool_result",
        "command_output", "diff", "usage", "error",
    ]  # fmt: skip
    for type_ in types:
        event(runner, run["id"], type_, n=type_)
    finish_run(runner, run["id"])

    trace = client.ok(client.get(f"/sessions/{session_id}/trace"))
    assert [e["type"] for e in trace["items"]] == [*types, "terminal_status"]
    assert [e["seq"] for e in trace["items"]] == list(range(1, len(types) + 2))
    output = client.ok(client.get(f"/sessions/{session_id}/output"))
    assert [e["type"] for e in output["items"]] == [
        "assistant_message", "command_output", "diff", "error", "terminal_status",
    ]  # fmt: skip
    assert output["count"] == 5 and output["nextCursor"] is None
    assert all(e["runId"] == run["id"] for e in output["items"])


def test_trace_pages_by_seq(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    session_id, run = start_session(client, unique("profile"))
    claim(runner, run["id"])
    for i in range(5):
        event(runner, run["id"], "assistant_message" if i % 2 == 0 else "reasoning", i=i)

    first = client.ok(client.get(f"/sessions/{session_id}/trace", limit=2))
    assert [e["seq"] for e in first["items"]] == [1, 2] and first["nextCursor"] is not None
    seen, cursor = [e["seq"] for e in first["items"]], first["nextCursor"]
    while cursor is not None:
        page = client.ok(client.get(f"/sessions/{session_id}/trace", limit=2, cursor=cursor))
        seen += [e["seq"] for e in page["items"]]
        cursor = page["nextCursor"]
    assert seen == [1, 2, 3, 4, 5]

    after = client.ok(client.get(f"/sessions/{session_id}/trace", afterSeq=3))
    assert [e["seq"] for e in after["items"]] == [4, 5] and after["nextCursor"] is None
    output = client.ok(client.get(f"/sessions/{session_id}/output", afterSeq=1))
    assert [e["seq"] for e in output["items"]] == [3, 5]

    garbage = client.get(f"/sessions/{session_id}/trace", cursor="not-a-cursor")
    assert garbage.status_code == 422 and error_kind(garbage) == "schema-invalid"
    too_many = client.get(f"/sessions/{session_id}/trace", limit=501)
    assert too_many.status_code == 422 and error_kind(too_many) == "schema-invalid"


def test_trace_of_an_unknown_session_is_not_found(server: Server) -> None:
    response = server.client("client").get(f"/sessions/{unique('missing')}/trace")
    assert response.status_code == 404 and error_kind(response) == "not-found"


# -- read-your-writes -----------------------------------------------------------------


def test_read_with_min_position_of_a_write_sees_that_write(server: Server) -> None:
    client = server.client("client")
    session_id, run = start_session(client, unique("profile"))
    assert summary(client, session_id, minPosition=run["position"])["lastRunId"] == run["id"]
    turn = command(client, run["id"], "turn", prompt="seen")
    seen = summary(client, session_id, minPosition=turn["position"])
    assert seen["version"] == turn["position"] and seen["title"] == "seen"
    page = client.ok(
        client.get("/sessions", backendProfile=run["backendProfile"], minPosition=turn["position"])
    )
    assert [s["version"] for s in page["items"]] == [turn["position"]]
    trace = client.ok(client.get(f"/sessions/{session_id}/trace", minPosition=turn["position"]))
    assert trace["runId"] == run["id"]


def test_negative_min_position_is_schema_invalid(server: Server) -> None:
    response = server.client("client").get("/sessions", minPosition=-1)
    assert response.status_code == 422 and error_kind(response) == "schema-invalid"


# -- tenant scoping -------------------------------------------------------------------


def test_session_of_another_tenant_is_not_found(server: Server) -> None:
    session_id, _ = start_session(server.client("client"), unique("profile"))
    other = server.client("client-b")
    for response in (
        other.get(f"/sessions/{session_id}"),
        other.get(f"/sessions/{session_id}/trace"),
        other.get(f"/sessions/{session_id}/output"),
        other.post(f"/sessions/{session_id}/read", {"readerId": "r"}),
    ):
        assert response.status_code == 404, response.request.url
        assert error_kind(response) == "not-found"
    auditor = server.client("auditor")
    assert auditor.ok(auditor.get(f"/sessions/{session_id}"))["sessionId"] == session_id
