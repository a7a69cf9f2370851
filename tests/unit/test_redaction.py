"""Redaction as the contract says: secret-looking keys at any depth become "[redacted]"."""

from __future__ import annotations

import pytest

from domain.redaction import REDACTED, is_secret_key, redact


@pytest.mark.parametrize(
    "key",
    [
        "apiKey",
        "auth_token",
        "Password",
        "password",
        "db-passwd",
        "clientSecret",
        "x_secret",
        "accessToken",
        "API_KEY",
        "api-key",
        "Authorization",
        "proxy_authorization",
        "credential",
        "awsCredentials",
        "private_key",
        "sshPrivateKey",
    ],
)
def test_a_key_ending_with_a_secret_word_is_secret(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "inputTokens",
        "tokenCount",
        "secretName",
        "tokens",
        "secrets",
        "passwordHint",
        "keyId",
        "author",
        "model",
    ],
)
def test_a_key_merely_containing_a_secret_word_is_kept(key: str) -> None:
    assert not is_secret_key(key)


def test_the_contract_examples() -> None:
    payload = {
        "apiKey": "sk-1",
        "auth_token": "t",
        "Password": "p",
        "inputTokens": 120,
        "tokenCount": 7,
        "secretName": "prod-db",
    }

    assert redact(payload) == {
        "apiKey": REDACTED,
        "auth_token": REDACTED,
        "Password": REDACTED,
        "inputTokens": 120,
        "tokenCount": 7,
        "secretName": "prod-db",
    }
    assert REDACTED == "[redacted]"


def test_nested_dicts_and_lists_are_redacted_at_any_depth() -> None:
    payload = {
        "tool": {"name": "http", "headers": {"Authorization": "Bearer x", "Accept": "json"}},
        "calls": [
            {"args": {"password": "p", "user": "u"}},
            [{"deep": [{"private_key": "k", "n": 1}]}],
        ],
    }

    assert redact(payload) == {
        "tool": {"name": "http", "headers": {"Authorization": REDACTED, "Accept": "json"}},
        "calls": [
            {"args": {"password": REDACTED, "user": "u"}},
            [{"deep": [{"private_key": REDACTED, "n": 1}]}],
        ],
    }


def test_a_secret_value_is_redacted_whole_whatever_its_type() -> None:
    payload = {"credentials": {"user": "u", "pass": "p"}, "token": ["a", "b"], "apiKey": None}

    assert redact(payload) == {"credentials": REDACTED, "token": REDACTED, "apiKey": REDACTED}


def test_redaction_returns_a_copy_and_leaves_the_input_alone() -> None:
    payload = {"apiKey": "sk-1", "nested": {"token": "t"}}

    redacted = redact(payload)

    assert payload == {"apiKey": "sk-1", "nested": {"token": "t"}}
    assert redacted is not payload


@pytest.mark.parametrize("value", [None, 3, 2.5, True, "apiKey", ["password", "token"]])
def test_scalars_and_string_lists_pass_through(value: object) -> None:
    assert redact(value) == value


def test_non_string_keys_are_kept() -> None:
    assert redact({1: "one", "x": {2: "two"}}) == {1: "one", "x": {2: "two"}}
