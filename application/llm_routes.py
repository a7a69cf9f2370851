"""Which LLM a request goes to: its registry row by name (or the pick of a pool), read from the
views, or remembered while the registry view stands still (ADR 0043)."""

from __future__ import annotations

from typing import Any

from application.inference_wire import pick_of_pool
from application.ports import Views
from projections import worker_queries
from projections.worker_registry import WorkerRegistry

# How many LLM rows a process remembers.
LLM_MEMORY = 1024


class LlmRoutes:
    def __init__(self, views: Views) -> None:
        self.views = views
        # LLM rows by name as last read, with the registry view's version they were read at.
        self._rows: dict[str, tuple[int, dict[str, Any]]] = {}

    def route(self, name: str, fail_fast: bool, or_pool: bool) -> tuple[dict[str, Any] | None, bool]:
        """The LLM's registry row, and whether a worker of its pool is bound (one views read; none
        for an LLM by name read here since the registry view last changed)."""
        simple = not fail_fast and not or_pool
        version = self.views.version(WorkerRegistry.name) if simple else None
        remembered = self._rows.get(name) if version is not None else None
        if remembered is not None and remembered[0] == version:
            return remembered[1], False
        with self.views.read() as cur:
            llm = worker_queries.get_llm(cur, name)
            if llm is None and or_pool:
                llm = pick_of_pool(worker_queries.llms_of_pool(cur, name))
            bound = bool(llm and fail_fast and worker_queries.bound_workers_of_pool(cur, llm["poolName"]))
        if version is not None and llm is not None:
            if len(self._rows) >= LLM_MEMORY:
                self._rows.clear()
            self._rows[name] = (version, llm)
        return llm, bound
