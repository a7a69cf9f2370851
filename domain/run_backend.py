"""The RunBackend aggregate: which backend a run is served by, recorded only when it changes."""

from __future__ import annotations

from datetime import datetime

from domain.base import Aggregate
from domain.errors import SchemaInvalidError


def run_backend_id(run_id: str) -> str:
    return f"run-backend:{run_id}"


class RunBackend(Aggregate):
    """The sticky backend of one run: its current backend and every switch, kept beside the run
    (its own stream), so resolving a backend never contends with run-event appends."""

    class Created(Aggregate.Created):
        run_id: str
        tenant_id: str
        backend_profile: str

    @classmethod
    def create(cls, *, run_id: str, tenant_id: str, backend_profile: str, now: datetime) -> RunBackend:
        return cls._create(
            cls.Created,
            id=run_backend_id(run_id),
            timestamp=now,
            run_id=run_id,
            tenant_id=tenant_id,
            backend_profile=backend_profile,
        )

    def __init__(self, run_id: str, tenant_id: str, backend_profile: str) -> None:
        self.run_id = run_id
        self.tenant_id = tenant_id
        self.backend_profile = backend_profile
        self.current: str | None = None
        self.history: list[tuple[str, str | None, datetime]] = []

    @property
    def switches(self) -> int:
        """How many times the backend changed after it was first resolved."""
        return max(len(self.history) - 1, 0)

    class BackendResolved(Aggregate.Event):
        backend_id: str
        cache_key: str | None
        previous: str | None

        def apply(self, tracker: RunBackend) -> None:
            tracker.current = self.backend_id
            tracker.history = [*tracker.history, (self.backend_id, self.cache_key, self.timestamp)]

    def resolve(self, backend_id: str, cache_key: str | None, now: datetime) -> bool:
        """Follow the current backend; False (nothing recorded) when it is the current one already."""
        if not backend_id:
            raise SchemaInvalidError("backendId must not be empty")
        if backend_id == self.current:
            return False
        self._trigger(
            self.BackendResolved, now, backend_id=backend_id, cache_key=cache_key, previous=self.current
        )
        return True
