"""The Worker aggregate: pools, binding by channel, liveness, merged state, shared wakes."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.worker import Worker, pool_key

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
