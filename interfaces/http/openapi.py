"""OpenAPI 3.1, generated from the endpoints' request and response models."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from interfaces.http.endpoint import Endpoint
from interfaces.http.limits import INT64_MAX, INT64_MIN
from interfaces.http.wire import Body, ErrorEnvelope

_PATH_PARAM = re.compile(r"{(\w+)}")

# Errors every operation may answer with, each in the envelope; `default` covers the rest.
_ERRORS = {
    "413": "Body larger than 8 MiB (`schema-invalid`)",
    "422": "Invalid input (`schema-invalid`)",
    "503": "Database or worker unavailable (`unavailable`)",
    "504": "A wait ran out (`timeout`)",
}


def build_openapi(
    groups: list[tuple[str, list[Endpoint]]],
    version: str,
    errors: Mapping[str, type[BaseModel]] | None = None,
) -> dict[str, Any]:
    """The description; `errors` names the error body of a prefix that answers in its own shape
    (OpenAI's under `/v1`); every other error is the envelope."""
    endpoints = [(prefix, e) for prefix, group in groups for e in group]
    error_models = dict(errors or {})
    models: set[type[BaseModel]] = {ErrorEnvelope, *error_models.values()}
    for _, e in endpoints:
        models.update(m for m in (e.body, e.response) if m is not None)
    keyed: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (m, "validation" if issubclass(m, Body) else "serialization") for m in models
    ]
    refs, schema = models_json_schema(
        sorted(keyed, key=lambda mk: mk[0].__name__),
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    envelope = refs[(ErrorEnvelope, "serialization")]
    error_schema = {prefix: refs[(model, "serialization")] for prefix, model in error_models.items()}
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for prefix, e in endpoints:
        operation_id = _operation_id(e)
        # One handler serving two routes still gets two ids: the method and path tell them apart.
        if operation_id in seen:
            route = re.sub(r"[^A-Za-z0-9]+", "_", f"{e.method.lower()} {e.path}").strip("_")
            operation_id = f"{operation_id}_{route}"
        seen.add(operation_id)
        operation: dict[str, Any] = {
            "summary": e.summary,
            "operationId": operation_id,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PATH_PARAM.findall(e.path)
            ]
            + _query_parameters(e.query),
            "responses": _responses(refs, error_schema.get(prefix, envelope), e),
        }
        if e.auth:
            operation["security"] = [{"bearer": []}]
        if e.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
            }
        paths.setdefault(prefix + e.path, {})[e.method.lower()] = operation
    components = schema.get("$defs", {})
    _bound_integers(components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "agentrun", "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _responses(refs: Any, envelope: Any, e: Endpoint) -> dict[str, Any]:
    success = _success(refs, e)
    responses = {str(status): success for status in (e.status, *e.also)}
    error = {"content": {"application/json": {"schema": envelope}}}
    if e.auth:
        responses.setdefault("401", {"description": "No or unknown token (`unauthorized`)", **error})
        responses.setdefault("403", {"description": "The role lacks the action (`forbidden`)", **error})
    for status, description in _ERRORS.items():
        if status != "413" or e.body is not None:
            responses.setdefault(status, {"description": description, **error})
    responses["default"] = {"description": "Error", **error}
    return responses


def _success(refs: Any, e: Endpoint) -> dict[str, Any]:
    if e.stream:
        stream = {"text/event-stream": {"schema": {"type": "string"}}}
        return {"description": "Server-sent events", "content": stream}
    if e.response is not None:
        return _content(refs, e.response)
    if e.status == 204:
        return {"description": "No content"}
    if e.path == "/metrics":
        return {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}
    # A free-form JSON answer (the OpenAPI description, an LLM's own response body).
    return {"description": "OK", "content": {"application/json": {"schema": {}}}}


def _content(refs: Any, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "description": model.__name__,
        "content": {"application/json": {"schema": refs[(model, "serialization")]}},
    }


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True)
    _bound_integers(schema)
    return [
        {"name": name, "in": "query", "required": False, "schema": _not_null(prop)}
        for name, prop in schema.get("properties", {}).items()
    ]


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    # A query parameter is absent or a string: `null` is how the model says "absent".
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    if len(options) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    return {**rest, **options[0]}


def _bound_integers(node: Any) -> None:
    """Every integer in a body or response is within the signed 64-bit range (ADR 0033)."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", INT64_MIN)
            node.setdefault("maximum", INT64_MAX)
        for child in node.values():
            _bound_integers(child)
    elif isinstance(node, list):
        for child in node:
            _bound_integers(child)


def _operation_id(e: Endpoint) -> str:
    """`<resource>_<handler>` (`runs_list_events`): unique, since a module's handlers have distinct names."""
    parts = e.handler.__module__.split(".")
    # A resource's handlers live in `interfaces/http/<resource>/handlers.py`: the package names them.
    resource = parts[-2] if parts[-1] == "handlers" else parts[-1]
    return f"{resource}_{e.handler.__name__}"
