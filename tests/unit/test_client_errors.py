"""The client turns every error envelope into its typed exception, and transport failures into one."""

from __future__ import annotations

import httpx
import pytest

from interfaces.client import (
    AgentRunClient,
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    RunnerLeaseConflict,
    SchemaInvalid,
    ServerError,
    StaleAttempt,
    TenantPolicyDenied,
    Timeout,
    Unauthorized,
    Unavailable,
)

KINDS = [
    ("unauthorized", 401, Unauthorized),
    ("forbidden", 403, Forbidden),
    ("tenant-policy-denied", 403, TenantPolicyDenied),
    ("not-found", 404, NotFound),
    ("schema-invalid", 422, SchemaInvalid),
    ("conflict", 409, Conflict),
    ("runner-lease-conflict", 409, RunnerLeaseConflict),
    ("stale-attempt", 409, StaleAttempt),
    ("unavailable", 503, Unavailable),
    ("timeout", 504, Timeout),
    ("internal", 500, ServerError),
]


def answering(response: httpx.Response) -> AgentRunClient:
    return AgentRunClient(
        "http://agentrun.test", "t", transport=httpx.MockTransport(lambda request: response)
    )


@pytest.mark.parametrize(("kind", "status", "cls"), KINDS)
def test_each_envelope_kind_raises_its_own_class(kind: str, status: int, cls: type[ClientError]) -> None:
    details = {"errors": [{"location": ["body", "x"]}]}
    envelope = {"error": {"kind": kind, "message": f"it was {kind}", "details": details}}
    with answering(httpx.Response(status, json=envelope)) as client, pytest.raises(cls) as caught:
        client.runs.get("run-1")
    error = caught.value
    assert type(error) is cls
    assert (error.kind, error.status, error.message, error.details) == (
        kind,
        status,
        f"it was {kind}",
        details,
    )


def test_lease_and_stale_conflicts_are_conflicts_and_only_outages_are_retryable() -> None:
    assert issubclass(RunnerLeaseConflict, Conflict) and issubclass(StaleAttempt, Conflict)
    assert issubclass(TenantPolicyDenied, Forbidden)
    retryable = {kind for kind, _, cls in KINDS if cls("x").retryable}
    assert retryable == {"unavailable", "timeout", "internal"}


def test_a_body_without_the_envelope_still_gives_a_typed_error() -> None:
    with answering(httpx.Response(502, text="bad gateway")) as client, pytest.raises(ServerError) as caught:
        client.runs.get("run-1")
    assert caught.value.status == 502 and caught.value.retryable
    with answering(httpx.Response(418, text="teapot")) as client, pytest.raises(ClientError) as other:
        client.runs.get("run-1")
    assert other.value.status == 418 and not other.value.retryable


def test_a_refused_connection_is_a_retryable_connection_failure() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = AgentRunClient("http://agentrun.test", "t", transport=httpx.MockTransport(refuse))
    with pytest.raises(ConnectionFailed) as caught:
        client.sessions.get("s-1")
    assert isinstance(caught.value, Unavailable) and caught.value.retryable and caught.value.status == 0


def test_a_stream_answered_with_an_error_raises_it_before_any_event() -> None:
    envelope = {"error": {"kind": "not-found", "message": "no such worker", "details": {}}}
    with answering(httpx.Response(404, json=envelope)) as client, pytest.raises(NotFound):
        next(iter(client.workers.channel("w-1")))
