"""Workers over HTTP: register and sticky reconnect, state merge, registry, disconnect revert, wakes."""

from __future__ import annotations

import threading
from typing import Any

from tests.support.server import Api, Server, error_kind, unique
from tests.support.workers import ChannelClient, register


def test_the_same_worker_id_again_is_a_sticky_reconnect(server: Server, worker_api: Api) -> None:
    llm = unique("llm")
    body = {"providers": [{"name": llm, "model": "m1", "poolName": "pool-x", "tier": "fast"}]}
    first = worker_api.ok(worker_api.post("/workers", body), 200)
    again = worker_api.ok(worker_api.post("/workers", {"workerId": first["workerId"], **body}), 200)
    assert again == first
    assert first["llms"][0] == {
        "name": llm,
        "model": "m1",
        "type": None,
        "tier": "fast",
        "poolName": "pool-x",
        "workerId": first["workerId"],
        "status": "active",
    }


def test_an_llm_name_of_another_active_worker_conflicts(server: Server, worker_api: Api) -> None:
    _, llm = register(server)
    response = worker_api.post("/workers", {"providers": [{"name": llm, "model": "m1"}]})
    assert response.status_code == 409 and error_kind(response) == "conflict"


def test_state_merges_metadata_one_level_deep_and_top_level_keys_last_win(
    server: Server, worker_api: Api
) -> None:
    worker_id, _ = register(server)
    put: Any = worker_api.http.put
    first = put(
        f"/workers/{worker_id}/state",
        json={"workerStatus": "busy", "externalMetadata": {"a": 1, "b": {"x": 1}}},
    )
    assert first.status_code == 200, first.text
    second = put(
        f"/workers/{worker_id}/state",
        json={
            "workerStatus": "idle",
            "externalMetadata": {"a": None, "b": {"y": 2}},
            "internalMetadata": {"k": "v"},
        },
    )
    state = worker_api.ok(second)
    assert state["workerStatus"] == "idle"
    assert state["externalMetadata"] == {"b": {"y": 2}}
    assert state["internalMetadata"] == {"k": "v"}
    operator = server.client("operator")  # reading workers is an operator's (CONTRACT.md role table)
    view = operator.ok(operator.get(f"/workers/{worker_id}"))
    assert view["externalMetadata"] == {"b": {"y": 2}} and view["workerStatus"] == "idle"
    listed = operator.ok(operator.get("/workers"))["items"]
    assert any(w["workerId"] == worker_id and w["internalMetadata"] == {"k": "v"} for w in listed)
    assert error_kind(put(f"/workers/{worker_id}/state", json={"bogus": 1})) == "schema-invalid"
    assert error_kind(put("/workers/nobody/state", json={"workerStatus": "x"})) == "not-found"


def test_heartbeat_is_204_and_unknown_workers_are_404(server: Server, worker_api: Api) -> None:
    worker_id, _ = register(server)
    assert worker_api.post(f"/workers/{worker_id}/heartbeat").status_code == 204
    assert error_kind(worker_api.post("/workers/nobody/heartbeat")) == "not-found"
    assert error_kind(server.client("operator").get("/workers/nobody")) == "not-found"


def test_a_dropped_channel_reverts_its_tasks_and_a_sibling_finishes_them_for_the_waiters(
    server: Server, worker_api: Api
) -> None:
    pool = unique("pool")
    first_id, llm = register(server, pool=pool)
    second_id, _ = register(server, pool=pool)
    client = server.client("client")
    first = ChannelClient(server, first_id).start()
    tasks = [
        client.ok(client.post("/inference-tasks", {"llmName": llm, "request": {"n": n}}), 202)
        for n in range(3)
    ]
    claimed = first.tasks(3)
    assert sorted(t["taskId"] for t in claimed) == sorted(t["id"] for t in tasks)
    answers: dict[str, Any] = {}

    def wait(task_id: str) -> None:
        answers[task_id] = client.ok(client.get(f"/inference-tasks/{task_id}", waitMs=20_000))

    waiters = [threading.Thread(target=wait, args=(t["id"],)) for t in tasks]
    for w in waiters:
        w.start()
    # The sibling is bound already: the reverted tasks are handed to it live.
    second = ChannelClient(server, second_id).start()
    first.close()
    try:
        for frame in second.tasks(3, timeout=15):
            worker_api.ok(
                worker_api.post(
                    f"/inference-tasks/{frame['taskId']}/result",
                    {"workerId": second_id, "body": frame["request"]},
                )
            )
        for w in waiters:
            w.join(20)
        for n, task in enumerate(tasks):
            assert answers[task["id"]]["status"] == "completed"
            assert answers[task["id"]]["claimedBy"] == second_id
            assert answers[task["id"]]["responseBody"] == {"n": n}
        late = worker_api.post(
            f"/inference-tasks/{tasks[0]['id']}/result", {"workerId": first_id, "body": "late"}
        )
        assert worker_api.ok(late)["responseBody"] == {"n": 0}
        view = server.client("operator").ok(server.client("operator").get(f"/workers/{first_id}"))
        assert view["bound"] is False
    finally:
        second.close()


def test_llms_list_shows_pool_and_status(server: Server) -> None:
    worker_id, llm = register(server, pool="shared-pool")
    client = server.client("client")
    items = client.ok(client.get("/llms"))["items"]
    mine = [i for i in items if i["name"] == llm]
    assert mine and mine[0]["poolName"] == "shared-pool" and mine[0]["workerId"] == worker_id
    assert mine[0]["status"] == "active"
