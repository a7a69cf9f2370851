"""The event log over HTTP: pages, filters, tenancy, and the SSE tail with a real SSE client."""

from __future__ import annotations

from typing import Any

import pytest

from interfaces.http.events.models import EventPage
from tests.support.server import Api, Server, error_kind, unique
from tests.support.tail import read_tail


def busy_run(api: Api, tenant: str = "tenant-a", events: int = 4) -> dict[str, Any]:
    """A run with a session, a claim, a turn command and some run events."""
    run = api.create_run(tenant=tenant, session_id=unique("sess"))
    api.ok(api.post(f"/runs/{run['id']}/claim", {"runnerId": unique("runner"), "leaseMs": 60_000}))
    command = api.ok(
        api.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {"prompt": "hi"}}), 201
    )
    batch = [{"type": "assistant_message", "payload": {"n": n, "apiKey": "sk-1"}} for n in range(events)]
    api.ok(api.post(f"/runs/{run['id']}/events:batch", {"events": batch}), 201)
    return {"run": run, "command": command}


def all_pages(api: Api, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = params.pop("after", 0)
    while True:
        body = api.ok(api.get("/events", after=after, **params))
        EventPage.model_validate(body)
        items.extend(body["items"])
        if body["nextAfter"] is None:
            return items
        after = body["nextAfter"]


def test_events_of_a_run_include_its_commands_in_position_order(admin: Api) -> None:
    made = busy_run(admin)
    run_id, command_id = made["run"]["id"], made["command"]["id"]
    items = all_pages(admin, runId=run_id, limit=3)
    positions = [i["position"] for i in items]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert {i["aggregateId"] for i in items} >= {run_id, command_id}
    types = [i["type"] for i in items if i["aggregateId"] == run_id]
    assert types[:2] == ["Run.Created", "Run.Claimed"]
    assert types.count("Run.EventAppended") == 4
    first = next(i for i in items if i["aggregateId"] == run_id)
    assert first["aggregateType"] == "Run" and first["aggregateVersion"] == 1
    assert first["timestamp"].endswith("Z") and first["data"]["tenantId"] == "tenant-a"


def test_stored_secrets_stay_redacted_in_the_log(admin: Api) -> None:
    run_id = busy_run(admin)["run"]["id"]
    items = all_pages(admin, runId=run_id, types="Run.EventAppended")
    assert len(items) == 4
    assert all(i["data"]["payload"]["apiKey"] == "[redacted]" for i in items)


def test_filters_by_type_aggregate_and_session(admin: Api) -> None:
    made = busy_run(admin)
    run = made["run"]
    claimed = all_pages(admin, types="Run.Claimed,Command.Created", runId=run["id"])
    assert sorted(i["type"] for i in claimed) == ["Command.Created", "Run.Claimed"]
    params = [("types", "Run.Claimed"), ("types", "Command.Created"), ("runId", run["id"])]
    repeated = admin.ok(admin.http.get("/events", params=params))
    assert [i["position"] for i in repeated["items"]] == [i["position"] for i in claimed]
    only_command = all_pages(admin, aggregateId=made["command"]["id"])
    assert [i["type"] for i in only_command] == ["Command.Created"]
    session_id = run["sessionRef"]["sessionId"]
    of_session = all_pages(admin, sessionId=session_id)
    assert {i["aggregateId"] for i in of_session} >= {
        run["id"],
        made["command"]["id"],
        f"session:{session_id}",
    }


def test_pages_follow_next_after_without_gaps_or_repeats(admin: Api) -> None:
    run_id = busy_run(admin, events=7)["run"]["id"]
    whole = all_pages(admin, runId=run_id, limit=500)
    paged = all_pages(admin, runId=run_id, limit=2)
    assert [i["position"] for i in paged] == [i["position"] for i in whole]
    last = whole[-1]["position"]
    page = admin.ok(admin.get("/events", after=last, runId=run_id))
    assert page == {"items": [], "nextAfter": None}


def test_auditor_sees_only_its_tenants_events(server: Server, admin: Api) -> None:
    mine = busy_run(admin, tenant="tenant-a")["run"]["id"]
    theirs = busy_run(admin, tenant="tenant-b")["run"]["id"]
    auditor = server.client("auditor")
    assert all_pages(auditor, runId=mine)
    assert all_pages(auditor, runId=theirs) == []
    runner = admin.ok(admin.post("/runners", {"id": unique("runner")}), 200)
    assert all_pages(auditor, aggregateId=f"runner:{runner['id']}") == []
    assert all_pages(admin, aggregateId=f"runner:{runner['id']}")


def test_events_need_the_events_permission(server: Server) -> None:
    assert error_kind(server.client("client").get("/events")) == "forbidden"
    assert server.client("client").get("/events").status_code == 403
    assert server.client("").get("/events").status_code == 401


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"after": -1}, {"after": "x"}])
def test_bad_paging_is_schema_invalid(admin: Api, params: dict[str, Any]) -> None:
    response = admin.get("/events", **params)
    assert response.status_code == 422 and error_kind(response) == "schema-invalid"


def test_stream_resumes_exactly_after_last_event_id(server: Server, admin: Api) -> None:
    run_id = busy_run(admin, events=6)["run"]["id"]
    positions = [i["position"] for i in all_pages(admin, runId=run_id)]
    resume_from = positions[3]
    tail = read_tail(server.base_url, len(positions) - 4, params={"runId": run_id}, last_event_id=resume_from)
    assert [f.id for f in tail.frames] == positions[4:]
    assert tail.retries == [1000]
    frame = tail.frames[0]
    assert frame.data["position"] == frame.id and frame.event == frame.data["type"]


def test_stream_after_query_and_unfiltered_order_match_the_pages(server: Server, admin: Api) -> None:
    busy_run(admin)
    page = admin.ok(admin.get("/events", after=0, limit=20))["items"]
    tail = read_tail(server.base_url, 20, params={"after": 0})
    assert [f.data for f in tail.frames] == page


def test_stream_delivers_new_events_live_and_filters_hold(server: Server, admin: Api) -> None:
    import threading

    run = admin.create_run()
    run_id = run["id"]
    admin.ok(admin.post(f"/runs/{run_id}/claim", {"runnerId": "r-live", "leaseMs": 60_000}))
    head = admin.ok(admin.get("/events", runId=run_id))["items"][-1]["position"]
    result: dict[str, Any] = {}

    def listen() -> None:
        result["tail"] = read_tail(
            server.base_url, 3, params={"runId": run_id, "types": "Run.EventAppended"}, last_event_id=head
        )

    thread = threading.Thread(target=listen)
    thread.start()
    other = admin.create_run()
    for n in range(3):
        admin.ok(
            admin.post(f"/runs/{other['id']}/claim", {"runnerId": "r-other", "leaseMs": 60_000})
        ) if n == 0 else None
        admin.ok(admin.post(f"/runs/{run_id}/events", {"type": "usage", "payload": {"n": n}}), 201)
    admin.ok(admin.post(f"/runs/{run_id}/finish", {"terminalStatus": "completed"}))
    thread.join(timeout=20)
    frames = result["tail"].frames
    assert [f.data["data"]["payload"] for f in frames] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert all(f.data["aggregateId"] == run_id and f.event == "Run.EventAppended" for f in frames)


def test_stream_of_another_tenant_shows_nothing_of_it(server: Server, admin: Api) -> None:
    theirs = busy_run(admin, tenant="tenant-b")
    mine = busy_run(admin, tenant="tenant-a")
    start = theirs["run"]["position"] - 2
    expected = [i["position"] for i in all_pages(admin, after=start) if _tenant_a(admin, i)]
    tail = read_tail(server.base_url, len(expected), role="auditor", params={"after": start})
    assert [f.id for f in tail.frames] == expected
    ids = {f.data["aggregateId"] for f in tail.frames}
    assert mine["run"]["id"] in ids
    assert not ids & {theirs["run"]["id"], theirs["command"]["id"]}


def _tenant_a(admin: Api, item: dict[str, Any]) -> bool:
    first = admin.ok(admin.get(f"/audit/{item['aggregateId']}", version=1))["history"][0]
    return bool(first["data"].get("tenantId") == "tenant-a")


def test_bad_last_event_id_is_schema_invalid(server: Server, admin: Api) -> None:
    response = admin.http.get("/events/stream", headers={"Last-Event-ID": "abc"})
    assert response.status_code == 422 and error_kind(response) == "schema-invalid"


def test_projections_show_position_head_and_lag(server: Server, admin: Api) -> None:
    run = admin.create_run()
    rows = admin.ok(admin.get("/projections"))
    names = {row["name"] for row in rows}
    assert "session_summaries" in names
    for row in rows:
        assert row["headPosition"] >= run["position"]
        assert row["lag"] == row["headPosition"] - row["position"] >= 0
        assert row["status"] in {"caught-up", "catching-up", "failing"}
