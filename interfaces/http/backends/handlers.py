"""Handlers of the backend tracker."""

from __future__ import annotations

from typing import Any

from interfaces.http.backends.models import MinPositionQuery
from interfaces.http.endpoint import Call


def resolve_backend(call: Call) -> Any:
    b = call.body
    return call.app.backends.resolve(call.principal, call.path["runId"], b.backend_id, b.cache_key)


def get_run_backend(call: Call) -> Any:
    q = call.query(MinPositionQuery)
    return call.app.backends.get(call.principal, call.path["runId"], q.min_position)


def list_backends(call: Call) -> Any:
    q = call.query(MinPositionQuery)
    return call.app.backends.profiles(call.principal, q.min_position)
