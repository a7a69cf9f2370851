"""Payload hashes for idempotency keys: equal payloads hash equal, whatever their key order."""

from __future__ import annotations

import hashlib

from domain.hashing import payload_hash


def test_the_hash_is_sha256_of_the_canonical_json() -> None:
    expected = hashlib.sha256(b'{"a":1,"b":[1,2]}').hexdigest()

    assert payload_hash({"b": [1, 2], "a": 1}) == expected


def test_key_order_does_not_change_the_hash() -> None:
    assert payload_hash({"a": 1, "b": {"x": 1, "y": 2}}) == payload_hash({"b": {"y": 2, "x": 1}, "a": 1})


def test_another_value_changes_the_hash() -> None:
    assert payload_hash({"prompt": "hi"}) != payload_hash({"prompt": "hi "})


def test_list_order_changes_the_hash() -> None:
    assert payload_hash([1, 2]) != payload_hash([2, 1])


def test_types_are_distinguished() -> None:
    assert payload_hash({"n": 1}) != payload_hash({"n": "1"})


def test_non_ascii_text_hashes_as_utf8() -> None:
    expected = hashlib.sha256('{"prompt":"héllo"}'.encode()).hexdigest()

    assert payload_hash({"prompt": "héllo"}) == expected


def test_the_hash_is_a_hex_digest_of_64_characters() -> None:
    digest = payload_hash(None)

    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")
