"""OpenAI's wire shapes: the chat body, models, completions and chunks built from a task, errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import ConfigDict, Field
from starlette.responses import Response

from interfaces.http.wire import Body, Out

# The contract's kinds as OpenAI error types (the kind itself is the `code`).
TYPE_OF_KIND = {
    "unauthorized": "authentication_error",
    "forbidden": "permission_error",
    "tenant-policy-denied": "permission_error",
    "not-found": "not_found_error",
    "method-not-allowed": "invalid_request_error",
    "schema-invalid": "invalid_request_error",
    "conflict": "invalid_request_error",
    "unavailable": "service_unavailable",
    "timeout": "timeout",
    "upstream-error": "upstream_error",
}
STATUS_OF_KIND = {"upstream-error": 502}
RETRY_AFTER_SECONDS = "1"


class ChatCompletionBody(Body):
    """An OpenAI chat-completion body: `model` and `messages` required, everything else passed on."""

    model_config = ConfigDict(extra="allow", alias_generator=None, strict=True)
    model: str = Field(min_length=1, max_length=256)
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False


class OpenAIOut(Out):
    """A response in OpenAI's own (snake_case) names."""

    model_config = ConfigDict(alias_generator=None)


class ModelOut(OpenAIOut):
    id: str
    object: str
    created: int
    owned_by: str


class ModelList(Out):
    object: str
    data: list[ModelOut]


class ErrorDetail(OpenAIOut):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(OpenAIOut):
    """OpenAI's error body: what every `/v1` error answers (documented in the OpenAPI)."""

    error: ErrorDetail


def error_body(kind: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": TYPE_OF_KIND.get(kind, "server_error"),
            "param": param,
            "code": kind,
        }
    }


def error_response(
    kind: str, message: str, status: int, *, param: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """An error in OpenAI's shape; a 503 says when to retry, and a final answer says not to."""
    extra = dict(headers or {})
    if status == 503:
        extra.setdefault("Retry-After", RETRY_AFTER_SECONDS)
    elif status in (409, 502):
        # OpenAI's SDKs retry 409 and 5xx: another try of the same task gets the same answer.
        extra.setdefault("x-should-retry", "false")
    return Response(orjson.dumps(error_body(kind, message, param)), status, extra, "application/json")


def from_envelope(response: Response) -> Response:
    """The contract's error envelope rewritten in OpenAI's shape, same status and headers."""
    try:
        error = orjson.loads(bytes(response.body))["error"]
        kind, message = str(error["kind"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return response
    problems = (error.get("details") or {}).get("errors") or []
    location = [str(part) for part in problems[0]["location"]] if problems else []
    param = ".".join(location[1:] if location[:1] == ["body"] else location)
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")
    }
    return error_response(kind, message, response.status_code, param=param or None, headers=headers)


def created_of(task: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(str(task["createdAt"]).replace("Z", "+00:00")).timestamp())


def completion(task: dict[str, Any], body: Any) -> dict[str, Any]:
    """The worker's full `chat.completion` passed through (its id the task's), or its answer wrapped."""
    if isinstance(body, dict) and "choices" in body:
        return {**body, "id": task["id"], "object": body.get("object") or "chat.completion"}
    content = body if isinstance(body, str) else orjson.dumps(body).decode()
    return {
        "id": task["id"],
        "object": "chat.completion",
        "created": created_of(task),
        "model": task["model"],
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
    }


def chunk_data(task: dict[str, Any], data: Any) -> str:
    """The `data:` of a worker's chunk: a JSON object passed through as the worker sent it, any
    other text wrapped as a `chat.completion.chunk` content delta."""
    if isinstance(data, dict):
        return orjson.dumps(data).decode()
    if isinstance(data, str):
        try:
            if isinstance(orjson.loads(data), dict):
                return data
        except orjson.JSONDecodeError:
            pass
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    return orjson.dumps(_chunk(task, {"content": text}, None)).decode()


def chunks_of_completion(task: dict[str, Any], body: Any) -> list[dict[str, Any]]:
    """A finished answer as chunks, for a stream that saw none of its own (a late join, a restart)."""
    whole = completion(task, body)
    out = []
    for choice in whole.get("choices") or []:
        message = choice.get("message") or {}
        delta = {k: v for k, v in message.items() if v is not None}
        out.append(_chunk(task, delta, choice.get("finish_reason") or "stop", choice.get("index", 0)))
    return out


def _chunk(task: dict[str, Any], delta: dict[str, Any], finish: str | None, index: int = 0) -> dict[str, Any]:
    return {
        "id": task["id"],
        "object": "chat.completion.chunk",
        "created": created_of(task),
        "model": task["model"],
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def model_entry(name: str, updated_at: Any) -> dict[str, Any]:
    created = 0
    if isinstance(updated_at, str):
        created = int(datetime.fromisoformat(updated_at.replace("Z", "+00:00")).timestamp())
    return {"id": name, "object": "model", "created": created, "owned_by": "agentrun"}
