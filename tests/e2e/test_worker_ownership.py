"""Workers are owned: another principal's worker token finds none of a worker's routes, nor its tasks."""

from __future__ import annotations

from tests.support.server import Server, error_kind
from tests.support.workers import ChannelClient, register


def test_another_principals_worker_token_can_neither_act_as_the_worker_nor_receive_its_tasks(
    server: Server,
) -> None:
    worker_id, llm = register(server)  # registered by the "worker" principal
    intruder = server.client("m-worker")  # a worker token of another principal
    provider = {"name": llm, "model": "m1"}
    for response in (
        intruder.post("/workers", {"workerId": worker_id, "providers": [provider]}),
        intruder.post(f"/workers/{worker_id}/heartbeat"),
        intruder.http.put(f"/workers/{worker_id}/state", json={"workerStatus": "hijacked"}),
    ):
        assert response.status_code == 404 and error_kind(response) == "not-found"
    stolen = ChannelClient(server, worker_id, role="m-worker").start()
    assert stolen.status == 404
    stolen.close()

    client = server.client("client")
    task = client.ok(client.post("/inference-tasks", {"llmName": llm, "request": {"n": 1}}), 202)
    owner = ChannelClient(server, worker_id).start()
    try:
        assert [t["taskId"] for t in owner.tasks(1)] == [task["id"]]
        for path, body in (("chunks", {"data": "x"}), ("result", {"body": "stolen"})):
            response = intruder.post(f"/inference-tasks/{task['id']}/{path}", {"workerId": worker_id, **body})
            assert response.status_code == 404 and error_kind(response) == "not-found"
        operator = server.client("operator")
        view = operator.ok(operator.get(f"/workers/{worker_id}"))
        assert view.get("workerStatus") != "hijacked"
        held = client.ok(client.get(f"/inference-tasks/{task['id']}"))
        assert (held["status"], held["claimedBy"], held["responseBody"]) == ("claimed", worker_id, None)
    finally:
        owner.close()


def test_a_client_of_another_tenant_cannot_read_workers(server: Server) -> None:
    worker_id, _ = register(server)
    response = server.client("client-b").get(f"/workers/{worker_id}")
    assert response.status_code == 403 and error_kind(response) == "forbidden"
    auditor = server.client("auditor")
    assert auditor.ok(auditor.get(f"/workers/{worker_id}"))["workerId"] == worker_id
