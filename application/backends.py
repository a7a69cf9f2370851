"""Backend tracker use cases: record the backend a run resolved to, read it, and the profiles."""

from __future__ import annotations

from typing import Any

from application import access
from application.access import Principal
from application.base import UseCases
from application.retry import retry_on_conflict
from domain.run import Run
from domain.run_backend import RunBackend, run_backend_id
from projections import backend_queries


class BackendUseCases(UseCases):
    reads = ("backends",)

    def __init__(self, *args: Any, capabilities: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.capabilities = capabilities or {}

    def resolve(
        self, principal: Principal, run_id: str, backend_id: str, cache_key: str | None
    ) -> dict[str, Any]:
        """Follow the run's current backend; `changed` is False (nothing recorded) when it already is."""
        principal.require(access.BACKEND_RESOLVE)

        def attempt() -> dict[str, Any]:
            run = self.load(Run, run_id, principal, "run")
            now = self.clock()
            tracker = self.store.get(run_backend_id(run_id))
            if not isinstance(tracker, RunBackend):
                tracker = RunBackend.create(
                    run_id=run_id, tenant_id=run.tenant_id, backend_profile=run.backend_profile, now=now
                )
            previous = tracker.current
            changed = tracker.resolve(backend_id, cache_key, now)
            position = self.store.save(tracker)[-1] if changed else self.store.position_of(tracker.id)
            return {
                "runId": run_id,
                "current": tracker.current,
                "previous": previous,
                "changed": changed,
                "position": position,
            }

        return retry_on_conflict(attempt)

    def get(self, principal: Principal, run_id: str, min_position: int | None) -> dict[str, Any]:
        principal.require(access.READ)
        self.load(Run, run_id, principal, "run")
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            return backend_queries.run_backend(cur, run_id)

    def profiles(self, principal: Principal, min_position: int | None) -> list[dict[str, Any]]:
        principal.require(access.READ)
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            return backend_queries.profiles(
                cur, tenants=principal.tenant_filter(), capabilities=self.capabilities
            )
