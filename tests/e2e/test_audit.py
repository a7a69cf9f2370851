"""Audit over HTTP: an aggregate's history and its state at a version or an instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from interfaces.http.events.models import AuditOut
from tests.support.server import Api, Server, error_kind
from tests.support.waiting import wait_for


def claimed_then_finished(api: Api, tenant: str = "tenant-a") -> tuple[str, str]:
    """A run claimed, then finished; returns its id and an instant in between (the claim's own)."""
    run = api.create_run(tenant=tenant)
    api.ok(api.post(f"/runs/{run['id']}/claim", {"runnerId": "r-audit", "leaseMs": 60_000}))
    between = api.ok(api.get(f"/runs/{run['id']}"))["updatedAt"]
    # The finish must be stamped after `between` (microseconds, the same host clock): the clock moves on.
    claimed_at = datetime.fromisoformat(between)
    assert wait_for(lambda: datetime.now(UTC) > claimed_at, timeout=5)
    api.ok(api.post(f"/runs/{run['id']}/finish", {"terminalStatus": "failed", "failureKind": "oops"}))
    return run["id"], between


def test_audit_rebuilds_each_version_from_the_events(admin: Api) -> None:
    run_id, _ = claimed_then_finished(admin)
    now = admin.ok(admin.get(f"/audit/{run_id}"))
    AuditOut.model_validate(now)
    assert now["aggregateType"] == "Run" and now["aggregateId"] == run_id
    assert now["state"]["status"] == "failed" and now["state"]["failureKind"] == "oops"
    assert [h["aggregateVersion"] for h in now["history"]] == list(range(1, now["version"] + 1))
    first = admin.ok(admin.get(f"/audit/{run_id}", version=1))
    assert first["version"] == 1 and first["state"]["status"] == "pending"
    assert [h["type"] for h in first["history"]] == ["Run.Created"]
    second = admin.ok(admin.get(f"/audit/{run_id}", version=2))
    assert second["state"]["status"] == "claimed" and second["state"]["claimedBy"] == "r-audit"


def test_audit_at_an_instant_shows_the_state_then(admin: Api) -> None:
    run_id, between = claimed_then_finished(admin)
    then = admin.ok(admin.get(f"/audit/{run_id}", at=between))
    assert then["state"]["status"] == "claimed"
    assert then["history"][-1]["type"] == "Run.Claimed"
    before = admin.get(f"/audit/{run_id}", at="2000-01-01T00:00:00Z")
    assert before.status_code == 404 and error_kind(before) == "not-found"


def test_auditor_of_another_tenant_gets_not_found_and_a_client_is_forbidden(
    server: Server, admin: Api
) -> None:
    theirs, _ = claimed_then_finished(admin, tenant="tenant-b")
    mine, _ = claimed_then_finished(admin, tenant="tenant-a")
    auditor = server.client("auditor")
    assert auditor.ok(auditor.get(f"/audit/{mine}"))["aggregateId"] == mine
    response = auditor.get(f"/audit/{theirs}")
    assert response.status_code == 404 and error_kind(response) == "not-found"
    forbidden = server.client("client").get(f"/audit/{mine}")
    assert forbidden.status_code == 403 and error_kind(forbidden) == "forbidden"


@pytest.mark.parametrize(
    "params",
    [{"version": 0}, {"version": "x"}, {"at": "yesterday"}, {"version": 1, "at": "2020-01-01T00:00:00Z"}],
)
def test_bad_audit_parameters_are_schema_invalid(admin: Api, params: dict[str, object]) -> None:
    run_id = admin.create_run()["id"]
    response = admin.get(f"/audit/{run_id}", **params)
    assert response.status_code == 422 and error_kind(response) == "schema-invalid"


def test_unknown_aggregate_or_version_is_not_found(admin: Api) -> None:
    run_id = admin.create_run()["id"]
    assert error_kind(admin.get("/audit/run_does_not_exist")) == "not-found"
    assert error_kind(admin.get(f"/audit/{run_id}", version=99)) == "not-found"
