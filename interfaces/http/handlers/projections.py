"""Handler of `GET /projections`: position, head, lag, status and stall of each projection."""

from __future__ import annotations

from typing import Any

from application.access import READ
from infrastructure.projection_state import states
from interfaces.http.endpoint import Call


def projection_rows(container: Any) -> list[dict[str, Any]]:
    """One row per projection, from the positions table, so every replica tells the same."""
    # The positions first: a head read after them is never below what they have processed.
    found = states(container.db, [p.name for p in container.projections])
    head = container.log.head()
    rows = []
    for name, state in sorted(found.items()):
        lag = max(head - state.position, 0)
        if state.stalled:
            status, error = "stalled", state.error
        else:
            status, error = ("caught-up" if lag == 0 else "catching-up"), None
        rows.append(
            {
                "name": name,
                "position": state.position,
                "headPosition": head,
                "lag": lag,
                "status": status,
                "error": error,
            }
        )
    return rows


def list_projections(call: Call) -> Any:
    call.principal.require(READ)
    return projection_rows(call.app)
