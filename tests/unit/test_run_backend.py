"""The RunBackend aggregate: follow the current backend, record only changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import SchemaInvalidError
from domain.run_backend import RunBackend, run_backend_id

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_tracker() -> RunBackend:
    return RunBackend.create(run_id="run_1", tenant_id="acme", backend_profile="codex", now=T0)


def test_a_new_tracker_has_no_backend() -> None:
    tracker = new_tracker()

    assert tracker.id == run_backend_id("run_1") == "run-backend:run_1"
    assert (tracker.current, tracker.history, tracker.switches) == (None, [], 0)


def test_the_first_resolution_is_recorded_but_is_not_a_switch() -> None:
    tracker = new_tracker()

    assert tracker.resolve("gpu-1", "cache-a", T0) is True

    assert (tracker.current, tracker.switches) == ("gpu-1", 0)
    assert tracker.history == [("gpu-1", "cache-a", T0)]


def test_repeating_the_current_backend_records_nothing() -> None:
    tracker = new_tracker()
    tracker.resolve("gpu-1", "cache-a", T0)
    version = tracker.version

    assert tracker.resolve("gpu-1", "cache-b", T0 + timedelta(seconds=1)) is False

    assert tracker.version == version and len(tracker.history) == 1


def test_a_change_is_recorded_with_the_backend_it_left() -> None:
    tracker = new_tracker()
    tracker.resolve("gpu-1", None, T0)
    tracker.resolve("gpu-2", None, T0 + timedelta(seconds=1))
    tracker.resolve("gpu-1", "c", T0 + timedelta(seconds=2))

    events = tracker.collect_events()

    assert (tracker.current, tracker.switches) == ("gpu-1", 2)
    assert [getattr(e, "previous", "-") for e in events] == ["-", None, "gpu-1", "gpu-2"]
    assert [type(e).__qualname__ for e in events[1:]] == ["RunBackend.BackendResolved"] * 3


def test_an_empty_backend_id_is_refused() -> None:
    with pytest.raises(SchemaInvalidError):
        new_tracker().resolve("", None, T0)
