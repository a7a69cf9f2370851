"""The edge guard of ADR 0033: JSON limits, bounded digit strings, the OpenAPI it documents."""

from __future__ import annotations

import orjson
import pytest

from domain.errors import SchemaInvalidError
from interfaces.http.errors import error_response
from interfaces.http.limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    bounded_int,
    check_json,
    check_text,
    check_value,
)
from interfaces.http.openapi import build_openapi
from interfaces.http.routes import API, API_PREFIX, OPS


def nested(levels: int) -> bytes:
    """A body of `levels` containers: an object, then arrays inside it."""
    return b'{"a":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


def test_integers_at_the_signed_64_bit_bounds_pass() -> None:
    assert check_json(orjson.dumps({"x": [INT64_MAX, INT64_MIN]})) == {"x": [INT64_MAX, INT64_MIN]}


@pytest.mark.parametrize("number", [b"9223372036854775808", b"-9223372036854775809", b"1" + b"0" * 40])
def test_an_integer_beyond_64_bits_anywhere_is_refused(number: bytes) -> None:
    with pytest.raises(SchemaInvalidError) as raised:
        check_json(b'{"ref": {"deep": [1, {"n": ' + number + b"}]}}")
    assert raised.value.details["location"] == "/ref/deep/1/n"


@pytest.mark.parametrize("literal", [b"1e400", b"-1e400", b"NaN", b"Infinity"])
def test_a_non_finite_number_is_refused(literal: bytes) -> None:
    with pytest.raises(SchemaInvalidError):
        check_json(b'{"x": ' + literal + b"}")


@pytest.mark.parametrize("text", [rb'"\ud800"', rb'"\udc00x"', rb'{"\ud800": 1}', b'"\xed\xa0\x80"'])
def test_a_lone_surrogate_is_refused(text: bytes) -> None:
    with pytest.raises(SchemaInvalidError):
        check_json(text)


@pytest.mark.parametrize("text", [rb'{"id": "a\u0000b"}', rb'{"a\u0000": 1}', rb'[["\u0000"]]'])
def test_a_nul_character_in_a_value_or_key_is_refused(text: bytes) -> None:
    with pytest.raises(SchemaInvalidError):
        check_json(text)


def test_a_nul_in_a_path_or_query_value_is_refused() -> None:
    check_text(["run-1", "caf\u00e9"], "path")
    with pytest.raises(SchemaInvalidError):
        check_text(["run\x00"], "path")


def test_a_lone_surrogate_from_another_parser_is_refused() -> None:
    with pytest.raises(SchemaInvalidError):
        check_value({"name": "ok \ud800"})


def test_a_surrogate_pair_is_a_character() -> None:
    assert check_json(rb'"\ud83d\ude00"') == "\U0001f600"


def test_nesting_up_to_the_limit_passes_and_one_more_is_refused() -> None:
    check_json(nested(MAX_DEPTH))
    with pytest.raises(SchemaInvalidError):
        check_json(nested(MAX_DEPTH + 1))


def test_nesting_far_beyond_the_parser_limit_is_refused_not_crashed() -> None:
    with pytest.raises(SchemaInvalidError):
        check_json(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize("text", ["9223372036854775808", "99999999999999999999", "12a", "", "\u0661", "-1"])
def test_a_digit_string_out_of_range_or_not_decimal_is_refused(text: str) -> None:
    with pytest.raises(SchemaInvalidError):
        bounded_int(text, "cursor")


def test_a_digit_string_in_range_is_its_number() -> None:
    assert bounded_int("9223372036854775807", "cursor") == INT64_MAX


def test_an_envelope_whose_details_cannot_be_written_is_still_an_envelope() -> None:
    response = error_response("timeout", "no", {"minPosition": 2**70})
    assert response.status_code == 504
    assert orjson.loads(response.body) == {"error": {"kind": "timeout", "message": "no", "details": {}}}


def test_openapi_operation_ids_are_unique_and_every_success_has_a_schema() -> None:
    spec = build_openapi([("", OPS), (API_PREFIX, API)], "test")
    operations = [op for item in spec["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    for op in operations:
        for status, response in op["responses"].items():
            if status.startswith("2") and status != "204":
                assert response.get("content"), (op["operationId"], status)
            if status.startswith(("4", "5")) or status == "default":
                schema = next(iter(response["content"].values()))["schema"]
                assert schema in ({"$ref": "#/components/schemas/ErrorEnvelope"},) or op["operationId"] == (
                    "ops_healthz"
                ), (op["operationId"], status)


def test_openapi_query_integers_are_bounded() -> None:
    spec = build_openapi([("", OPS), (API_PREFIX, API)], "test")
    for item in spec["paths"].values():
        for op in item.values():
            for parameter in op["parameters"]:
                if parameter["schema"].get("type") == "integer":
                    assert parameter["schema"].get("maximum", INT64_MAX + 1) <= INT64_MAX, parameter
