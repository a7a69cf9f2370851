"""The backend tracker over HTTP: record a run's backend only when it changes, its history, the profiles."""

from __future__ import annotations

from typing import Any

from interfaces.http.backends.models import BackendResolvedOut, RunBackendOut
from tests.support.server import Api, Server, error_kind, unique


def resolve(api: Api, run_id: str, backend_id: str, cache_key: str | None = None) -> Any:
    body: dict[str, Any] = {"backendId": backend_id}
    if cache_key is not None:
        body["cacheKey"] = cache_key
    return api.post(f"/runs/{run_id}/backend", body)


def profile_entry(api: Api, profile: str, **params: Any) -> dict[str, Any]:
    entries = api.ok(api.get("/backends", **params))
    (entry,) = [e for e in entries if e["profile"] == profile]
    return dict(entry)


def test_the_first_backend_is_recorded_and_repeating_it_records_nothing(client: Api, runner: Api) -> None:
    run = client.create_run()

    first = runner.ok(resolve(runner, run["id"], "gpu-1", "kv-1"))
    repeat = runner.ok(resolve(runner, run["id"], "gpu-1", "kv-2"))

    BackendResolvedOut.model_validate(first)
    assert {k: first[k] for k in ("runId", "current", "previous", "changed")} == {
        "runId": run["id"],
        "current": "gpu-1",
        "previous": None,
        "changed": True,
    }
    assert first["position"] > run["position"]
    assert (repeat["current"], repeat["previous"], repeat["changed"]) == ("gpu-1", "gpu-1", False)
    assert repeat["position"] == first["position"]
    tracked = client.ok(client.get(f"/runs/{run['id']}/backend"))
    assert (tracked["current"], tracked["switches"], len(tracked["history"])) == ("gpu-1", 0, 1)


def test_a_switch_is_recorded_with_the_backend_it_left_and_counted(client: Api, runner: Api) -> None:
    run = client.create_run()
    runner.ok(resolve(runner, run["id"], "gpu-1", "kv-1"))

    switched = runner.ok(resolve(runner, run["id"], "gpu-2"))
    back = runner.ok(resolve(runner, run["id"], "gpu-1", "kv-3"))

    assert (switched["previous"], switched["current"], switched["changed"]) == ("gpu-1", "gpu-2", True)
    assert (back["previous"], back["current"]) == ("gpu-2", "gpu-1")
    tracked = client.ok(client.get(f"/runs/{run['id']}/backend", minPosition=back["position"]))
    RunBackendOut.model_validate(tracked)
    assert set(tracked) == {"runId", "current", "switches", "history"}
    assert (tracked["runId"], tracked["current"], tracked["switches"]) == (run["id"], "gpu-1", 2)
    assert [(h["backendId"], h["cacheKey"]) for h in tracked["history"]] == [
        ("gpu-1", "kv-1"),
        ("gpu-2", None),
        ("gpu-1", "kv-3"),
    ]
    ats = [h["at"] for h in tracked["history"]]
    assert all(at.endswith("Z") for at in ats) and ats == sorted(ats)


def test_a_run_without_a_backend_has_an_empty_history(client: Api) -> None:
    run = client.create_run()
    tracked = client.ok(client.get(f"/runs/{run['id']}/backend"))
    assert tracked == {"runId": run["id"], "current": None, "switches": 0, "history": []}


def test_an_unknown_run_or_another_tenants_run_is_not_found(server: Server, client: Api, runner: Api) -> None:
    run = client.create_run()
    other = server.client("client-b")
    for response in (
        resolve(runner, "run_missing", "gpu-1"),
        client.get("/runs/run_missing/backend"),
        other.get(f"/runs/{run['id']}/backend"),
    ):
        assert response.status_code == 404 and error_kind(response) == "not-found", response.request.url


def test_an_ill_formed_resolution_is_schema_invalid(client: Api, runner: Api) -> None:
    run = client.create_run()
    for body in (
        {},
        {"backendId": ""},
        {"backendId": 5},
        {"backendId": "b", "cacheKey": 1},
        {"backendId": "b", "x": 1},
    ):
        response = runner.post(f"/runs/{run['id']}/backend", body)
        assert response.status_code == 422 and error_kind(response) == "schema-invalid", body
    assert client.ok(client.get(f"/runs/{run['id']}/backend"))["history"] == []


def test_clients_may_not_record_a_backend_but_workers_may(server: Server, client: Api) -> None:
    run = client.create_run()
    response = resolve(client, run["id"], "gpu-1")
    assert response.status_code == 403 and error_kind(response) == "forbidden"
    worker = server.client("worker")
    assert worker.ok(resolve(worker, run["id"], "gpu-1"))["changed"] is True
    # Recording is not reading (CONTRACT.md "Who may do what"): a worker may not read runs.
    assert error_kind(worker.get(f"/runs/{run['id']}/backend")) == "forbidden"
    assert client.ok(client.get(f"/runs/{run['id']}/backend"))["current"] == "gpu-1"
    anonymous = server.client("")
    for response in (
        resolve(anonymous, run["id"], "gpu-2"),
        anonymous.get(f"/runs/{run['id']}/backend"),
        anonymous.get("/backends"),
    ):
        assert response.status_code == 401 and error_kind(response) == "unauthorized"


def test_backends_count_active_runs_and_runs_by_current_backend(client: Api, runner: Api) -> None:
    profile = unique("profile")
    first, second, _third = (client.create_run(backendProfile=profile) for _ in range(3))
    runner.ok(resolve(runner, first["id"], "gpu-1"))
    runner.ok(resolve(runner, second["id"], "gpu-1"))
    runner.ok(resolve(runner, second["id"], "gpu-2"))

    entry = profile_entry(client, profile)

    assert entry == {
        "profile": profile,
        "capabilities": {},
        "activeRuns": 3,
        "runsByBackend": {"gpu-1": 1, "gpu-2": 1},
    }
    finished = runner.ok(runner.post(f"/runs/{first['id']}/finish", {"terminalStatus": "completed"}))
    after = profile_entry(client, profile, minPosition=finished["position"])
    assert after["activeRuns"] == 2 and after["runsByBackend"] == {"gpu-1": 1, "gpu-2": 1}


def test_a_cancelled_run_is_no_longer_active(server: Server, client: Api) -> None:
    profile = unique("profile")
    run = client.create_run(backendProfile=profile)
    operator = server.client("operator")
    operator.ok(operator.post(f"/runs/{run['id']}/cancel", {"reason": "stop"}))
    assert profile_entry(client, profile)["activeRuns"] == 0


def test_backends_show_only_runs_of_the_callers_tenants(server: Server, client: Api) -> None:
    profile = unique("profile")
    client.create_run(backendProfile=profile)
    other = server.client("client-b")
    other.create_run(tenant="tenant-b", backendProfile=profile)
    other.create_run(tenant="tenant-b", backendProfile=profile)

    assert profile_entry(client, profile)["activeRuns"] == 1
    assert profile_entry(other, profile)["activeRuns"] == 2
    assert profile_entry(server.client("admin"), profile)["activeRuns"] == 3
