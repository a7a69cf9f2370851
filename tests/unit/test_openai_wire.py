"""OpenAI shapes built from a task: completions and chunks passed through or wrapped, errors."""

from __future__ import annotations

import orjson

from interfaces.http.errors import error_response as envelope
from interfaces.http.openai import wire

TASK = {"id": "inf_1", "model": "m1", "createdAt": "2026-01-01T00:00:00Z"}


def test_a_full_completion_passes_through_with_the_task_id() -> None:
    body = {"id": "worker", "object": "chat.completion", "choices": [{"message": {"content": "hi"}}], "x": 1}
    assert wire.completion(TASK, body) == {**body, "id": "inf_1"}


def test_any_other_answer_is_wrapped_as_the_assistant_message() -> None:
    whole = wire.completion(TASK, {"text": "hi"})
    assert whole["object"] == "chat.completion" and whole["model"] == "m1" and whole["created"] == 1767225600
    assert whole["choices"][0]["message"] == {"role": "assistant", "content": '{"text":"hi"}'}


def test_chunks_pass_through_as_the_worker_sent_them_and_plain_text_is_a_delta() -> None:
    chunk = {"id": "w", "object": "chat.completion.chunk", "choices": [{"delta": {"content": "a"}}]}
    assert orjson.loads(wire.chunk_data(TASK, chunk)) == chunk
    assert wire.chunk_data(TASK, '{"delta": "as sent"}') == '{"delta": "as sent"}'
    wrapped = orjson.loads(wire.chunk_data(TASK, "plain"))
    assert wrapped["id"] == "inf_1" and wrapped["choices"][0]["delta"] == {"content": "plain"}


def test_an_answer_without_chunks_becomes_one_chunk_with_its_finish_reason() -> None:
    frames = wire.chunks_of_completion(TASK, "whole")
    assert frames[0]["choices"][0] == {
        "index": 0,
        "delta": {"role": "assistant", "content": "whole"},
        "finish_reason": "stop",
    }


def test_the_envelope_becomes_openais_error_shape_with_the_kind_as_code() -> None:
    problems = {"errors": [{"location": ["messages", "0", "role"], "message": "missing", "type": "x"}]}
    response = wire.from_envelope(envelope("schema-invalid", "the request is not valid", problems))
    assert response.status_code == 422
    assert orjson.loads(bytes(response.body)) == {
        "error": {
            "message": "the request is not valid",
            "type": "invalid_request_error",
            "param": "messages.0.role",
            "code": "schema-invalid",
        }
    }
    unavailable = wire.from_envelope(envelope("unavailable", "no worker"))
    assert unavailable.status_code == 503 and unavailable.headers["retry-after"] == "1"
