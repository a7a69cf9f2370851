"""The orjson transcoder: event state round-trips, top-level datetimes included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from eventsourcing.persistence import Mapper
from freezegun import freeze_time

from domain.command import Command
from domain.outcome import Outcome
from domain.run import Run
from domain.session import Session
from infrastructure.transcoder import OrjsonTranscoder

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def transcoder() -> OrjsonTranscoder:
    return OrjsonTranscoder()


@pytest.fixture
def mapper(transcoder: OrjsonTranscoder) -> Mapper[str]:
    return Mapper(transcoder=transcoder)


def test_json_state_round_trips(transcoder: OrjsonTranscoder) -> None:
    state = {
        "text": "héllo ✓",
        "n": 3,
        "x": 2.5,
        "ok": True,
        "nothing": None,
        "items": [1, "two", {"three": [3]}],
        "nested": {"a": {"b": {"c": None}}},
    }

    assert transcoder.decode(transcoder.encode(state)) == state


def test_top_level_datetimes_come_back_as_equal_aware_datetimes(
    transcoder: OrjsonTranscoder,
) -> None:
    paris = timezone(timedelta(hours=1))
    state = {"timestamp": T0, "lease_expires_at": T0.astimezone(paris)}

    decoded = transcoder.decode(transcoder.encode(state))

    assert decoded == state
    assert isinstance(decoded["timestamp"], datetime)
    assert decoded["timestamp"].tzinfo is not None
    assert decoded["lease_expires_at"].utcoffset() == timedelta(hours=1)


def test_microseconds_survive(transcoder: OrjsonTranscoder) -> None:
    decoded = transcoder.decode(transcoder.encode({"timestamp": T0}))

    assert decoded["timestamp"].microsecond == 123456


def test_encoded_state_is_plain_json_bytes(transcoder: OrjsonTranscoder) -> None:
    encoded = transcoder.encode({"timestamp": T0, "n": 1})

    assert isinstance(encoded, bytes)
    assert encoded == b'{"timestamp":{"__datetime__":"2026-03-01T12:00:00.123456+00:00"},"n":1}'


def test_an_unsupported_type_is_refused(transcoder: OrjsonTranscoder) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        transcoder.encode({"amount": Decimal("1.5")})


def test_a_run_created_event_round_trips_through_the_mapper(mapper: Mapper[str]) -> None:
    run = Run.create(
        tenant_id="acme",
        project_id="web",
        backend_profile="codex",
        session_ref={"sessionId": "s-1", "metadata": {"k": [1, 2]}},
        resource_bundle_ref=None,
        now=T0,
    )
    (created,) = run.collect_events()

    restored = mapper.to_domain_event(mapper.to_stored_event(created))

    assert restored == created
    assert type(restored) is Run.Created
    assert restored.timestamp == T0


def test_a_claim_round_trips_with_its_lease_expiry(mapper: Mapper[str]) -> None:
    run = Run.create(
        tenant_id="acme",
        project_id="web",
        backend_profile="codex",
        session_ref=None,
        resource_bundle_ref=None,
        now=T0,
    )
    run.claim("runner-a", 30_000, T0)
    claimed = run.collect_events()[-1]

    restored = mapper.to_domain_event(mapper.to_stored_event(claimed))

    assert restored == claimed
    assert isinstance(restored, Run.Claimed)
    assert restored.lease_expires_at == T0 + timedelta(seconds=30)


def test_a_replayed_aggregate_equals_the_original(mapper: Mapper[str]) -> None:
    with freeze_time(T0) as clock:
        run = Run.create(
            tenant_id="acme",
            project_id="web",
            backend_profile="codex",
            session_ref={"sessionId": "s-1"},
            resource_bundle_ref=None,
            now=datetime.now(UTC),
        )
        clock.tick(timedelta(seconds=1))
        run.claim("runner-a", 5_000, datetime.now(UTC))
        clock.tick(timedelta(seconds=1))
        run.append_event("usage", {"inputTokens": 10}, datetime.now(UTC))
        run.finish(Outcome("completed", None, None, "t-1", None), datetime.now(UTC))
    stored = [mapper.to_stored_event(e) for e in run.collect_events()]

    replayed: Run | None = None
    for event in (mapper.to_domain_event(s) for s in stored):
        assert isinstance(event, Run.Event)
        replayed = event.mutate(replayed)

    assert isinstance(replayed, Run)
    assert vars(replayed) == vars(run)
    assert replayed.lease_expires_at == T0 + timedelta(seconds=6)
    assert replayed.updated_at == T0 + timedelta(seconds=2)


def test_command_and_session_events_round_trip(mapper: Mapper[str]) -> None:
    command = Command.create(
        command_id="cmd_1",
        run_id="run_1",
        tenant_id="acme",
        session_id=None,
        seq=1,
        command_type="turn",
        payload={"prompt": "hi"},
        idempotency_key=None,
        payload_hash="h",
        now=T0,
    )
    command.acknowledge(T0)
    session = Session.create(
        session_id="s-1",
        tenant_id="acme",
        project_id="web",
        backend_profile="codex",
        conversation_id=None,
        thread_id=None,
        metadata={},
        expires_at=None,
        run_id="run_1",
        now=T0,
    )
    session.bump_version("turn-created", "run_1", "cmd_1", T0)

    for event in [*command.collect_events(), *session.collect_events()]:
        assert mapper.to_domain_event(mapper.to_stored_event(event)) == event
