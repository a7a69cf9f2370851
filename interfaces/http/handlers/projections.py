"""Handler of `GET /projections`: position, head and lag of each projection."""

from __future__ import annotations

from typing import Any

from application.access import READ
from interfaces.http.endpoint import Call


def projection_rows(container: Any) -> list[dict[str, Any]]:
    """One row per projection; `failing` only where this process runs the projections and failed."""
    head = container.log.head()
    failing = container.runner.error is not None
    rows = []
    for name, position in sorted(container.runner.positions().items()):
        lag = max(head - position, 0)
        status = "failing" if failing else ("caught-up" if lag == 0 else "catching-up")
        rows.append({"name": name, "position": position, "headPosition": head, "lag": lag, "status": status})
    return rows


def list_projections(call: Call) -> Any:
    call.principal.require(READ)
    return projection_rows(call.app)
