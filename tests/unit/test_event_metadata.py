"""Event metadata (ADR 0030): who caused an event is stored beside its fields and read back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from application.event_log import EVENT_METADATA, event_item
from domain.run import Run
from infrastructure.event_log import AgentRunLog
from infrastructure.event_metadata import META_KEY, acting, current, metadata_of, set_actor, stamp
from interfaces.http.app import _App
from interfaces.http.request_context import request_id_of
from tests.unit.test_upcast import FIXTURE, stored

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def mapper() -> Any:
    return AgentRunLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


def new_run() -> Run:
    return Run.create(
        tenant_id="t1", project_id="p", backend_profile="codex",
        session_ref=None, resource_bundle_ref=None, now=T0,
    )  # fmt: skip


def test_an_event_saved_in_a_request_stores_and_loads_its_actor_and_request_id() -> None:
    m = mapper()
    created = new_run().collect_events()[0]
    with acting("alice", "req-1"):
        record = m.to_stored_event(created)
    assert orjson.loads(record.state)[META_KEY] == {"actor": "alice", "requestId": "req-1"}
    loaded = m.to_domain_event(record)
    assert loaded == created  # metadata is no field of the event
    assert metadata_of(loaded) == {"actor": "alice", "requestId": "req-1"}
    item = event_item(7, loaded)
    assert (item["actor"], item["requestId"]) == ("alice", "req-1")
    assert not any("meta" in key.lower() for key in item["data"])


def test_outside_any_request_the_actor_is_system() -> None:
    record = mapper().to_stored_event(new_run().collect_events()[0])
    assert orjson.loads(record.state)[META_KEY] == {"actor": "system", "requestId": None}


def test_a_stamped_event_keeps_its_callers_metadata_when_another_thread_encodes_it() -> None:
    # The group-commit leader encodes other callers' events in its own thread and context.
    event = new_run().collect_events()[0]
    with acting("caller", "req-caller"):
        stamp([event])
    records: list[Any] = []
    with acting("leader", "req-leader"):
        thread = threading.Thread(target=lambda: records.append(mapper().to_stored_event(event)))
        thread.start()
        thread.join()
    assert orjson.loads(records[0].state)[META_KEY] == {"actor": "caller", "requestId": "req-caller"}


def test_the_actor_is_set_after_the_request_id_and_undone_with_its_context() -> None:
    with acting(None, "req-9"):
        set_actor("bob")
        assert (current().actor, current().request_id) == ("bob", "req-9")
    assert (current().actor, current().request_id) == ("system", None)


def test_events_stored_before_metadata_load_with_null_actor_and_request_id() -> None:
    m = mapper()
    opened, assigned = (m.to_domain_event(stored(line)) for line in FIXTURE.read_bytes().splitlines())
    for position, event in ((7, opened), (9, assigned)):
        item = event_item(position, event)
        assert item["actor"] is None and item["requestId"] is None
    assert event_item(9, assigned)["data"]["assignees"] == ["ada"]  # the upcaster still ran


def test_the_application_reads_metadata_where_the_store_puts_it() -> None:
    assert EVENT_METADATA == META_KEY


def test_a_sane_client_request_id_is_kept_and_anything_else_replaced() -> None:
    assert request_id_of("abc-123_X.y:z") == "abc-123_X.y:z"
    assert request_id_of("r" * 128) == "r" * 128
    for bad in (None, "", "r" * 129, "has space", "tab\there", "nul\x00", "é"):
        generated = request_id_of(bad)
        assert generated != bad and len(generated) == 32 and int(generated, 16) >= 0


def test_even_an_unexpected_error_echoes_the_request_id() -> None:
    # Starlette's error middleware is outermost in its own stack: ours must wrap it.
    def boom(request: Any) -> Any:
        raise RuntimeError("boom")

    def crash(request: Any, error: Exception) -> Any:
        return PlainTextResponse("unexpected", status_code=500)

    app = _App(routes=[Route("/boom", boom)], exception_handlers={Exception: crash})
    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/boom", headers={"X-Request-Id": "req-500"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-500"
