"""The Worker aggregate: pools, binding by channel, liveness, merged state, shared wakes, its owner."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from eventsourcing.persistence import Mapper

from domain.worker import Worker, pool_key
from infrastructure.transcoder import OrjsonTranscoder

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def worker() -> Worker:
    providers = [
        {"name": "a", "model": "m", "poolName": "p"},
        {"name": "b", "model": "m", "hibernating": True},
    ]
    return Worker.register("w1", providers, NOW)


def test_pool_key_is_pool_name_or_name() -> None:
    assert pool_key({"name": "a", "poolName": "p"}) == "p"
    assert pool_key({"name": "a"}) == "a"
    assert worker().pools == ["b", "p"]


def test_an_old_channel_cannot_unbind_a_newer_one() -> None:
    w = worker()
    w.bind("c1", NOW)
    w.bind("c2", NOW)
    assert w.unbind("c1", "closed", NOW) is False
    assert w.channel_id == "c2"
    assert w.unbind("c2", "closed", NOW) is True and not w.bound


def test_an_inactive_worker_has_inactive_llms_until_it_comes_back() -> None:
    w = worker()
    assert [w.llm_status(p) for p in w.providers] == ["active", "hibernating"]
    assert w.go_inactive(None, NOW) is True and w.go_inactive(None, NOW) is False
    assert {w.llm_status(p) for p in w.providers} == {"inactive"}
    assert w.reactivate(NOW) is True


def test_state_patches_merge_metadata_one_level_deep() -> None:
    w = worker()
    w.update_state({"workerStatus": "busy", "externalMetadata": {"a": 1, "b": 2}}, NOW)
    w.update_state({"workerStatus": "idle", "externalMetadata": {"a": None, "c": 3}}, NOW)
    assert w.state == {"workerStatus": "idle", "externalMetadata": {"b": 2, "c": 3}}


def test_concurrent_wake_requests_share_one_wake_and_an_ok_answer_wakes_the_llm() -> None:
    w = worker()
    first = w.request_wake("wake-1", "b", NOW)
    second = w.request_wake("wake-2", "b", NOW)
    assert first == second == "wake-1"
    assert w.answer_wake("wake-2", "b", True, None, NOW) is False
    assert w.answer_wake("wake-1", "b", True, None, NOW) is True
    assert w.llm_status(w.provider("b") or {}) == "active" and w.open_wakes == {}


def test_a_sticky_reconnect_with_the_same_providers_records_nothing() -> None:
    w = worker()
    assert w.reregister(list(w.providers), NOW) is False
    assert w.reregister([{"name": "a", "model": "m2"}], NOW) is True


def test_an_llm_woken_by_an_answered_wake_is_not_asked_again() -> None:
    w = worker()
    wake = w.request_wake("wake-1", "b", NOW)
    assert wake is not None and w.answer_wake(wake, "b", True, None, NOW)
    # A caller that read "hibernating" from a view behind the answer asks again: nothing to do.
    assert w.request_wake("wake-2", "b", NOW) is None and w.open_wakes == {}
    assert w.request_wake("wake-3", "a", NOW) is None


def test_a_failed_wake_leaves_the_llm_hibernating_and_a_later_request_asks_again() -> None:
    w = worker()
    assert w.request_wake("wake-1", "b", NOW) == "wake-1"
    assert w.answer_wake("wake-1", "b", False, "gpu busy", NOW)
    assert w.request_wake("wake-2", "b", NOW) == "wake-2"


def test_a_hibernating_reregistration_starts_a_new_episode() -> None:
    w = worker()
    w.answer_wake(str(w.request_wake("wake-1", "b", NOW)), "b", True, None, NOW)
    w.reregister([{"name": "b", "model": "m", "hibernating": True}], NOW)
    assert w.request_wake("wake-2", "b", NOW) == "wake-2"


def test_a_worker_is_owned_by_the_principal_that_registered_it() -> None:
    w = Worker.register("w1", [{"name": "a", "model": "m"}], NOW, owner="alice")
    assert w.owned_by("alice") and not w.owned_by("mallory")
    # A re-registration never changes the owner (the use case refuses another principal first).
    w.reregister([{"name": "a", "model": "m2"}], NOW, owner="mallory")
    assert w.owner == "alice"


def test_a_legacy_worker_is_nobodys_until_its_first_reregistration_claims_it() -> None:
    w = worker()
    assert w.owner is None and not w.owned_by("alice")
    assert w.reregister(list(w.providers), NOW, owner="alice") is True
    assert w.owned_by("alice")
    assert w.reregister(list(w.providers), NOW, owner="alice") is False


def test_a_registration_stored_before_owners_loads_as_a_legacy_worker() -> None:
    mapper = Mapper(transcoder=OrjsonTranscoder())
    fresh = Worker.register("w1", [{"name": "a", "model": "m"}], NOW, owner="alice")
    stored = mapper.to_stored_event(fresh.collect_events()[0])
    state = orjson.loads(stored.state)
    del state["owner"]  # as written before workers had owners
    old = stored.__class__(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=orjson.dumps(state),
    )
    event = mapper.to_domain_event(old)
    loaded = event.mutate(None)
    assert isinstance(loaded, Worker) and loaded.owner is None and loaded.worker_id == "w1"
    assert loaded.providers == [{"name": "a", "model": "m"}]
