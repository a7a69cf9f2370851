"""The Session aggregate: its boundary, version bumps, thread updates and read marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import SchemaInvalidError
from domain.session import (
    VERSION_BUMP_REASONS,
    Session,
    TenantPolicyDeniedError,
    session_aggregate_id,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_session(**overrides: Any) -> Session:
    fields: dict[str, Any] = {
        "session_id": "s-1",
        "tenant_id": "acme",
        "project_id": "web",
        "backend_profile": "codex",
        "conversation_id": "conv-1",
        "thread_id": None,
        "metadata": {"topic": "billing"},
        "expires_at": None,
        "run_id": "run_1",
        "now": T0,
        **overrides,
    }
    return Session.create(**fields)


def test_a_session_lives_in_its_own_namespace_of_the_log() -> None:
    session = new_session(session_id="abc")

    assert session.id == session_aggregate_id("abc") == "session:abc"
    assert session.session_id == "abc"


def test_a_new_session_keeps_what_the_first_run_named() -> None:
    session = new_session()

    assert (session.tenant_id, session.project_id, session.backend_profile) == (
        "acme",
        "web",
        "codex",
    )
    assert session.conversation_id == "conv-1"
    assert session.thread_id is None
    assert session.metadata == {"topic": "billing"}
    assert session.version == 1
    assert session.created_at == T0


def test_the_same_tenant_project_and_profile_are_within_the_boundary() -> None:
    new_session().check_boundary("acme", "web", "codex")


@pytest.mark.parametrize(("tenant", "project"), [("other", "web"), ("acme", "other")])
def test_reusing_a_session_across_a_tenant_or_project_is_denied(tenant: str, project: str) -> None:
    with pytest.raises(TenantPolicyDeniedError) as raised:
        new_session().check_boundary(tenant, project, "codex")

    assert raised.value.kind == "tenant-policy-denied"
    assert raised.value.details == {"sessionId": "s-1"}


def test_a_tenant_crossing_is_denied_even_when_the_profile_also_differs() -> None:
    with pytest.raises(TenantPolicyDeniedError):
        new_session().check_boundary("other", "web", "claude")


def test_reusing_a_session_with_another_backend_profile_is_schema_invalid() -> None:
    with pytest.raises(SchemaInvalidError) as raised:
        new_session().check_boundary("acme", "web", "claude")

    assert raised.value.kind == "schema-invalid"
    assert raised.value.details["existingBackendProfile"] == "codex"
    assert raised.value.details["requestedBackendProfile"] == "claude"


@pytest.mark.parametrize("reason", VERSION_BUMP_REASONS)
def test_each_bump_raises_the_version_by_one(reason: str) -> None:
    session = new_session()

    session.bump_version(reason, "run_1", "cmd_1", T0 + timedelta(seconds=1))

    assert session.version == 2
    assert session.updated_at == T0 + timedelta(seconds=1)
    (bumped,) = list(session.collect_events())[1:]
    assert isinstance(bumped, Session.VersionBumped)
    assert (bumped.reason, bumped.run_id, bumped.command_id) == (reason, "run_1", "cmd_1")


def test_bumps_accumulate() -> None:
    session = new_session()

    session.bump_version("turn-created", "run_1", "cmd_1", T0)
    session.bump_version("turn-finished", "run_1", "cmd_1", T0)
    session.bump_version("run-finished", "run_1", None, T0)

    assert session.version == 4


def test_an_unknown_bump_reason_is_refused() -> None:
    session = new_session()

    with pytest.raises(ValueError, match="unknown version bump reason"):
        session.bump_version("event-appended", "run_1", None, T0)

    assert session.version == 1


def test_a_new_thread_id_is_recorded_with_the_turn() -> None:
    session = new_session()

    session.update_thread("t-1", "turn-1", "run_1", T0)

    assert session.thread_id == "t-1"
    assert session.metadata == {"topic": "billing", "lastTurnId": "turn-1"}
    assert session.version == 2


def test_a_thread_update_without_a_turn_keeps_the_metadata() -> None:
    session = new_session()

    session.update_thread("t-1", None, "run_1", T0)

    assert session.thread_id == "t-1"
    assert session.metadata == {"topic": "billing"}


def test_the_same_thread_and_turn_again_records_nothing() -> None:
    session = new_session()
    session.update_thread("t-1", "turn-1", "run_1", T0)

    session.update_thread("t-1", "turn-1", "run_2", T0)
    session.update_thread("t-1", None, "run_2", T0)

    assert session.version == 2


def test_the_same_thread_with_a_new_turn_is_recorded() -> None:
    session = new_session()
    session.update_thread("t-1", "turn-1", "run_1", T0)

    session.update_thread("t-1", "turn-2", "run_1", T0)

    assert session.version == 3
    assert session.metadata["lastTurnId"] == "turn-2"


def test_marking_read_records_the_reader_without_changing_the_state() -> None:
    session = new_session()
    list(session.collect_events())

    session.mark_read("alice", T0)

    (marked,) = session.collect_events()
    assert isinstance(marked, Session.ReadMarked)
    assert marked.reader_id == "alice"
    assert session.thread_id is None
