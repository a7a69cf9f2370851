"""The event store's retries end in time: at once behind a closed gate, within 2 s when in doubt."""

from __future__ import annotations

import time

import pytest
from eventsourcing.persistence import OperationalError

from infrastructure.availability import Availability, DatabaseUnavailable
from infrastructure.store_recorder import IN_DOUBT_WINDOW
from interfaces.bootstrap import Container
from tests.support.server import free_port

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def closed_gate() -> Availability:
    """A real probe of a port nobody listens on: the database is known to be away."""
    gate = Availability(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    assert gate.probe().reachable is False
    return gate


def test_reads_and_writes_fail_at_once_while_the_gate_is_closed(container: Container) -> None:
    recorder = container.log.recorder
    recorder.gate = closed_gate()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        container.log.head()
    with pytest.raises(DatabaseUnavailable):
        container.log.get("run-that-may-not-exist")
    assert time.monotonic() - started < 0.1


def test_a_query_whose_connection_died_is_retried_in_doubt_then_gives_up_within_two_seconds(
    container: Container,
) -> None:
    recorder = container.log.recorder
    closed = closed_gate()
    attempts = []

    def commit_that_loses_its_connection() -> None:
        attempts.append(time.monotonic())
        recorder.gate = closed  # the probe finds the database away as the connection dies
        raise OperationalError("server closed the connection unexpectedly")

    started = time.monotonic()
    with pytest.raises(OperationalError):
        recorder.bounded(commit_that_loses_its_connection)
    took = time.monotonic() - started
    # Retried despite the closed gate (the commit may have landed: ADR 0028), then given up.
    assert len(attempts) > 3
    assert IN_DOUBT_WINDOW <= took <= 2.0


def test_a_query_in_doubt_succeeds_when_the_database_answers_again(container: Container) -> None:
    recorder = container.log.recorder
    closed = closed_gate()
    attempts = []

    def died_once() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            recorder.gate = closed
            raise OperationalError("server closed the connection unexpectedly")
        return 42

    assert recorder.bounded(died_once) == 42
