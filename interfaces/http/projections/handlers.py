"""Handler of `GET /projections`: position, head, lag, status and stall of each projection."""

from __future__ import annotations

from typing import Any

from application.access import READ
from infrastructure.projection_state import progress_rows
from interfaces.http.endpoint import Call


def list_projections(call: Call) -> Any:
    call.principal.require(READ)
    app = call.app
    return progress_rows(app.db, app.log, [p.name for p in app.projections])
