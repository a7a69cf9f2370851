"""Wire models of projection status."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, RootModel

from interfaces.http.wire import Out


class ProjectionError(Out):
    """What stalled a projection: the event it cannot fold (ADR 0031)."""

    position: int
    event_type: str
    message: str
    since: str


class ProjectionStatus(Out):
    name: str
    position: int
    head_position: int
    lag: int
    status: Literal["caught-up", "catching-up", "stalled"] = Field(
        description="`stalled`: the projection failed on the event at `error.position` again and again"
    )
    error: ProjectionError | None = None


class ProjectionStatusList(RootModel[list[ProjectionStatus]]):
    pass
