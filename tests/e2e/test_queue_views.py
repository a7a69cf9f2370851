"""Queue task views over HTTP: the listing (filters, keyset pages, updatedAfter polling), stats, commander."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.timestamps import micros
from interfaces.http.queue.models import QueueCommanderOut, QueueStatsOut, QueueTaskPage
from tests.support.server import Api, Server, error_kind, unique
from tests.support.waiting import wait_for


def create(api: Api, queue: str, priority: int = 0, lane: str = "default", tenant: str = "tenant-a") -> Any:
    body = {
        "tenantId": tenant,
        "projectId": "proj",
        "queue": queue,
        "lane": lane,
        "priority": priority,
        "payload": {"n": priority},
    }
    return api.ok(api.post("/queue/tasks", body), 201)


def attempt(api: Api, task_id: str, state: str) -> Any:
    return api.ok(
        api.post(f"/queue/tasks/{task_id}/attempts", {"state": state, "latestAttempt": {"attemptId": "a"}})
    )


def all_pages(api: Api, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = api.ok(api.get("/queue/tasks", cursor=cursor, **params))
        QueueTaskPage.model_validate(page)
        assert page["count"] == len(page["items"])
        items.extend(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")


# -- the listing ----------------------------------------------------------------------


def test_the_list_is_by_priority_then_age_and_filters_by_queue_and_state(client: Api, admin: Api) -> None:
    queue = unique("q")
    low, high, mid_old, mid_new = (create(client, queue, p) for p in (1, 9, 5, 5))
    create(client, unique("other-q"), 100)
    attempt(admin, low["id"], "running")

    page = client.ok(client.get("/queue/tasks", queue=queue))
    running = client.ok(client.get("/queue/tasks", queue=queue, state="running"))

    assert [t["id"] for t in page["items"]] == [high["id"], mid_old["id"], mid_new["id"], low["id"]]
    assert page["count"] == 4 and page["nextCursor"] is None
    assert [t["id"] for t in running["items"]] == [low["id"]] and running["items"][0]["state"] == "running"


def test_following_next_cursor_yields_each_task_exactly_once_in_order(client: Api) -> None:
    queue = unique("q")
    created = [create(client, queue, priority) for priority in (3, 1, 4, 1, 5, 9, 2)]

    items = all_pages(client, queue=queue, limit=3)

    expected = sorted(created, key=lambda t: (-t["priority"], t["createdAt"], t["id"]))
    assert [t["id"] for t in items] == [t["id"] for t in expected]


def test_updated_after_lists_only_tasks_changed_since_in_change_order(client: Api, admin: Api) -> None:
    queue = unique("q")
    first, second, third = (create(client, queue) for _ in range(3))
    mark = third["version"]

    assert client.ok(client.get("/queue/tasks", queue=queue, updatedAfter=mark))["items"] == []
    changed_first = attempt(admin, first["id"], "claimed")
    cancelled = admin.ok(admin.post(f"/queue/tasks/{second['id']}/cancel", {}))

    items = all_pages(client, queue=queue, updatedAfter=mark, limit=1)

    assert [(t["id"], t["version"]) for t in items] == [
        (first["id"], changed_first["version"]),
        (second["id"], cancelled["version"]),
    ]
    polled = client.ok(client.get("/queue/tasks", queue=queue, updatedAfter=cancelled["version"]))
    assert polled["items"] == []


def test_polling_from_max_version_sees_every_later_change(client: Api, admin: Api) -> None:
    queue = unique("q")
    task = create(client, queue)
    since = client.ok(client.get("/queue/stats", queue=queue))["maxVersion"]
    assert since == task["version"]

    newer = create(client, queue)
    changed = attempt(admin, task["id"], "running")

    items = all_pages(client, queue=queue, updatedAfter=since)
    assert [t["id"] for t in items] == [newer["id"], task["id"]]
    assert client.ok(client.get("/queue/stats", queue=queue))["maxVersion"] == changed["version"]


def test_lists_stats_and_commander_show_only_the_callers_tenants(server: Server, client: Api) -> None:
    queue = unique("q")
    create(client, queue)
    other = server.client("client-b")
    create(other, queue, tenant="tenant-b", lane="b-lane")

    assert [t["tenantId"] for t in all_pages(other, queue=queue)] == ["tenant-b"]
    assert other.ok(other.get("/queue/stats", queue=queue))["byLane"] == {"b-lane": 1}
    commander = other.ok(other.get("/queue/commander", queue=queue))
    assert [t["tenantId"] for t in commander["items"]] == ["tenant-b"] and commander["stats"]["total"] == 1
    admin = server.client("admin")
    assert admin.ok(admin.get("/queue/stats", queue=queue))["total"] == 2


def test_bad_list_parameters_are_schema_invalid(client: Api) -> None:
    for params in (
        {"limit": 101},
        {"limit": 0},
        {"limit": "many"},
        {"state": "paused"},
        {"cursor": "not-a-cursor"},
        {"updatedAfter": -1},
        {"updatedAfter": "x"},
        {"minPosition": -1},
    ):
        response = client.get("/queue/tasks", **params)
        assert response.status_code == 422 and error_kind(response) == "schema-invalid", params


def test_a_cursor_of_one_order_is_refused_by_the_other(client: Api) -> None:
    queue = unique("q")
    for _ in range(2):
        create(client, queue)
    cursor = client.ok(client.get("/queue/tasks", queue=queue, updatedAfter=0, limit=1))["nextCursor"]
    response = client.get("/queue/tasks", queue=queue, cursor=cursor)
    assert response.status_code == 422 and error_kind(response) == "schema-invalid"


# -- stats ----------------------------------------------------------------------------


def test_stats_count_tasks_by_state_and_lane(client: Api, admin: Api) -> None:
    queue = unique("q")
    fast = [create(client, queue, lane="fast") for _ in range(3)]
    slow = create(client, queue, lane="slow")
    attempt(admin, fast[0]["id"], "running")
    attempt(admin, fast[1]["id"], "completed")
    last = admin.ok(admin.post(f"/queue/tasks/{slow['id']}/cancel", {}))

    stats = client.ok(client.get("/queue/stats", queue=queue, minPosition=last["position"]))

    QueueStatsOut.model_validate(stats)
    assert stats["queue"] == queue and stats["total"] == 4
    assert stats["byState"] == {"pending": 1, "running": 1, "completed": 1, "cancelled": 1}
    assert stats["byLane"] == {"fast": 3, "slow": 1}
    assert stats["maxVersion"] == last["version"]
    assert isinstance(stats["oldestPendingAgeMs"], int) and stats["oldestPendingAgeMs"] >= 0
    assert stats["generatedAt"].endswith("Z")


def age_ms(stats: dict[str, Any], task: dict[str, Any]) -> int:
    """How old `task` was, in whole ms, when the stats were generated (as the server computes it)."""
    generated, created = (
        datetime.fromisoformat(stats["generatedAt"]),
        datetime.fromisoformat(task["createdAt"]),
    )
    return max(0, (micros(generated) - micros(created)) // 1000)


def test_the_oldest_pending_age_follows_the_oldest_task_still_pending(client: Api, admin: Api) -> None:
    queue = unique("q")
    oldest = create(client, queue)
    # Time itself, polled instead of slept: the younger task is created at least 5 ms later, so
    # the two ages differ.
    assert wait_for(lambda: client.ok(client.get("/queue/stats", queue=queue))["oldestPendingAgeMs"] >= 5)
    younger = create(client, queue)

    aged = client.ok(client.get("/queue/stats", queue=queue))
    attempt(admin, oldest["id"], "claimed")
    after_claim = client.ok(client.get("/queue/stats", queue=queue))
    attempt(admin, younger["id"], "running")
    none_pending = client.ok(client.get("/queue/stats", queue=queue))

    assert aged["oldestPendingAgeMs"] == age_ms(aged, oldest) >= 5
    assert after_claim["oldestPendingAgeMs"] == age_ms(after_claim, younger)
    assert age_ms(after_claim, younger) < age_ms(after_claim, oldest)
    assert none_pending["oldestPendingAgeMs"] is None and none_pending["byState"] == {
        "claimed": 1,
        "running": 1,
    }


def test_a_task_back_to_pending_counts_as_pending_again(client: Api, admin: Api) -> None:
    queue = unique("q")
    task = create(client, queue)
    attempt(admin, task["id"], "claimed")
    attempt(admin, task["id"], "pending")

    stats = client.ok(client.get("/queue/stats", queue=queue))

    assert stats["byState"] == {"pending": 1} and stats["oldestPendingAgeMs"] is not None


def test_stats_of_an_unknown_queue_are_empty_and_without_queue_cover_all(client: Api) -> None:
    empty = client.ok(client.get("/queue/stats", queue=unique("nothing")))
    assert (empty["total"], empty["byState"], empty["byLane"], empty["maxVersion"]) == (0, {}, {}, 0)
    assert empty["oldestPendingAgeMs"] is None

    create(client, unique("q"), lane=unique("lane"))
    everything = client.ok(client.get("/queue/stats"))
    assert everything["queue"] is None and everything["total"] >= 1
    assert everything["total"] == sum(everything["byState"].values()) == sum(everything["byLane"].values())


# -- commander ------------------------------------------------------------------------


def test_the_commander_shows_the_top_twenty_and_the_stats(client: Api) -> None:
    queue = unique("q")
    created = [create(client, queue, priority % 7) for priority in range(23)]

    snapshot = client.ok(client.get("/queue/commander", queue=queue))

    QueueCommanderOut.model_validate(snapshot)
    expected = sorted(created, key=lambda t: (-t["priority"], t["createdAt"], t["id"]))[:20]
    assert [t["id"] for t in snapshot["items"]] == [t["id"] for t in expected]
    assert snapshot["queue"] == queue and snapshot["generatedAt"].endswith("Z")
    assert snapshot["stats"]["total"] == 23 and snapshot["stats"]["byState"] == {"pending": 23}
    assert snapshot["stats"]["queue"] == queue
