"""Wire models of the backend tracker: resolving a run's backend, its history, the profiles."""

from __future__ import annotations

from pydantic import Field, RootModel

from interfaces.http.limits import QueryInt
from interfaces.http.wire import Body, JsonObject, Out, Query


class ResolveBackend(Body):
    backend_id: str = Field(min_length=1, max_length=256)
    cache_key: str | None = Field(default=None, max_length=1024)


class MinPositionQuery(Query):
    min_position: QueryInt | None = None


class BackendResolvedOut(Out):
    run_id: str
    current: str
    previous: str | None
    changed: bool
    position: int


class BackendHistoryEntry(Out):
    backend_id: str
    cache_key: str | None
    at: str


class RunBackendOut(Out):
    run_id: str
    current: str | None
    switches: int
    history: list[BackendHistoryEntry]


class BackendProfileOut(Out):
    profile: str
    capabilities: JsonObject
    active_runs: int
    runs_by_backend: dict[str, int]


class BackendProfileList(RootModel[list[BackendProfileOut]]):
    """Every backend profile: configured ones and those seen on runs."""
