"""Handlers of health and the API description."""

from __future__ import annotations

from typing import Any

from interfaces.http.endpoint import Call


def healthz(call: Call) -> tuple[int, Any]:
    health = call.app.health()
    return (200 if health["ready"] else 503), health


def openapi(call: Call) -> Any:
    return call.app.openapi


def metrics(call: Call) -> Any:
    return call.app.http.metrics.response()
