"""OpenAPI 3.1, generated from the endpoints' request and response models."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from interfaces.http.endpoint import Endpoint
from interfaces.http.wire import Body, ErrorEnvelope

_PATH_PARAM = re.compile(r"{(\w+)}")


def build_openapi(groups: list[tuple[str, list[Endpoint]]], version: str) -> dict[str, Any]:
    endpoints = [(prefix, e) for prefix, group in groups for e in group]
    models: set[type[BaseModel]] = {ErrorEnvelope}
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
    paths: dict[str, dict[str, Any]] = {}
    for prefix, e in endpoints:
        operation: dict[str, Any] = {
            "summary": e.summary,
            "operationId": _operation_id(e),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PATH_PARAM.findall(e.path)
            ]
            + _query_parameters(e.query),
            "responses": {
                str(e.status): _success(refs, e),
                "default": {
                    "description": "Error",
                    "content": {"application/json": {"schema": refs[(ErrorEnvelope, "serialization")]}},
                },
            },
        }
        if e.auth:
            operation["security"] = [{"bearer": []}]
        if e.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
            }
        paths.setdefault(prefix + e.path, {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "agentrun", "version": version},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _success(refs: Any, e: Endpoint) -> dict[str, Any]:
    if e.stream:
        stream = {"text/event-stream": {"schema": {"type": "string"}}}
        return {"description": "Server-sent events", "content": stream}
    return _content(refs, e.response) if e.response else {"description": "OK"}


def _content(refs: Any, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "description": model.__name__,
        "content": {"application/json": {"schema": refs[(model, "serialization")]}},
    }


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True)
    return [
        {"name": name, "in": "query", "required": False, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation_id(e: Endpoint) -> str:
    return e.handler.__name__
