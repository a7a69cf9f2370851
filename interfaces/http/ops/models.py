"""Wire models of health."""

from __future__ import annotations

from typing import Literal

from interfaces.http.wire import Out


class HealthOut(Out):
    adapter: Literal["postgres", "sqlite"]
    ready: bool
    reachable: bool
    migration_ready: bool
    failure_kind: str | None
    message: str | None
