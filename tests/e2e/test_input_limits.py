"""Bad input is never a 500: each limit of the contract, one request each, on the real server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from interfaces.http.limits import INT64_MAX, MAX_BODY_BYTES, MAX_DEPTH
from tests.support.server import Api, Server, error_kind, token_of, unique

BEYOND = str(2**63)
RUN = {"tenantId": "tenant-a", "projectId": "proj", "backendProfile": "codex"}


def post_raw(api: Api, path: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    return api.http.post(path, content=content, headers={"Content-Type": "application/json"})


def refused(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert error_kind(response) == "schema-invalid"
    return dict(response.json()["error"])


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 2**64, 10**30])
def test_an_integer_beyond_64_bits_in_a_free_form_object_is_422(admin: Api, number: int) -> None:
    template = orjson.dumps({**RUN, "resourceBundleRef": {"nested": [{"n": 1}]}})
    body = template.replace(b'"n":1', f'"n":{number}'.encode())
    error = refused(post_raw(admin, "/runs", body))
    assert error["details"]["location"] == "/resourceBundleRef/nested/0/n"


def test_an_integer_at_the_64_bit_bound_is_stored_as_it_is(admin: Api) -> None:
    bounds = {"max": INT64_MAX, "min": -(2**63)}
    run = admin.create_run(resourceBundleRef=bounds)
    assert admin.ok(admin.get(f"/runs/{run['id']}"))["resourceBundleRef"] == bounds


def test_an_integer_beyond_64_bits_in_a_run_event_payload_is_422(admin: Api) -> None:
    run = admin.create_run()
    body = b'{"type": "usage", "payload": {"tokens": 123456789012345678901234567890}}'
    refused(post_raw(admin, f"/runs/{run['id']}/events", body))


def test_a_lone_surrogate_is_422(admin: Api) -> None:
    body = orjson.dumps({**RUN, "resourceBundleRef": {"name": "SURROGATE"}}).replace(b"SURROGATE", rb"\ud800")
    refused(post_raw(admin, "/runs", body))


def test_a_nul_character_is_422_on_both_stores(admin: Api) -> None:
    # PostgreSQL text and jsonb cannot hold U+0000: refused everywhere, so both stores agree.
    refused(admin.post("/runners", {"id": "runner\u0000x"}))
    refused(admin.post("/runs", {**RUN, "resourceBundleRef": {"k\u0000": "v"}}))
    refused(admin.get("/runs/run%00x"))
    refused(admin.get("/sessions", readerId="reader\u0000"))


def test_a_body_nested_deeper_than_64_levels_is_422(admin: Api) -> None:
    def nested(levels: int) -> bytes:
        # The body is level 1, `resourceBundleRef` level 2, then lists.
        inner = b"[" * (levels - 2) + b"]" * (levels - 2)
        return orjson.dumps(RUN)[:-1] + b', "resourceBundleRef": {"a": ' + inner + b"}}"

    assert post_raw(admin, "/runs", nested(MAX_DEPTH)).status_code == 201
    refused(post_raw(admin, "/runs", nested(MAX_DEPTH + 1)))


def test_a_body_over_8_mib_is_413(admin: Api) -> None:
    padding = b" " * (MAX_BODY_BYTES + 1 - len(orjson.dumps(RUN)))
    refused(post_raw(admin, "/runs", orjson.dumps(RUN) + padding), status=413)


def test_a_chunked_body_over_8_mib_is_413_without_a_declared_length(admin: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield orjson.dumps(RUN)[:-1] + b', "resourceBundleRef": {"pad": "'
        for _ in range(9):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    refused(post_raw(admin, "/runs", chunks()), status=413)


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/backends", "minPosition"),
        ("/queue/tasks", "updatedAfter"),
        ("/sessions", "changedSince"),
        ("/sessions", "limit"),
        ("/events", "after"),
        ("/events/stream", "after"),
        ("/runs/RUN/events", "afterSeq"),
        ("/runs/RUN/events", "cursor"),
        ("/inference-tasks/none", "waitMs"),
    ],
)
def test_a_query_number_out_of_range_is_422(admin: Api, path: str, param: str) -> None:
    refused(admin.get(path.replace("RUN", unique("run")), **{param: BEYOND}))


def test_a_last_event_id_out_of_range_is_422_on_the_tail(admin: Api) -> None:
    refused(admin.http.get("/events/stream", headers={"Last-Event-ID": BEYOND}))


def test_a_forged_cursor_with_a_huge_key_is_422(admin: Api) -> None:
    cursor = base64.urlsafe_b64encode(orjson.dumps([2**63, "x"])).decode().rstrip("=")
    refused(admin.get("/queue/tasks", cursor=cursor))


def openai_post(server: Server, content: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token_of('admin')}", "Content-Type": "application/json"}
    return httpx.post(server.base_url + "/v1/chat/completions", content=content, headers=headers, timeout=30)


def test_the_openai_door_takes_the_same_guard_in_its_own_error_shape(server: Server) -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi", "n": 99999999999999999999}]}'
    response = openai_post(server, body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "schema-invalid"
    too_large = openai_post(server, b'{"model": "m", "messages": []}' + b" " * MAX_BODY_BYTES)
    assert too_large.status_code == 413, too_large.text
    assert too_large.json()["error"]["code"] == "schema-invalid"


def test_the_served_description_has_unique_operation_ids_and_bounded_integers(server: Server) -> None:
    spec = httpx.get(server.base_url + "/openapi.json", timeout=10).json()
    operations = [op for item in spec["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    schemas = [p["schema"] for op in operations for p in op["parameters"]]
    integers = [s for s in schemas if s.get("type") == "integer"]
    assert integers and all(s["maximum"] <= INT64_MAX for s in integers)
