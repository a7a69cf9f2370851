"""The worker and LLM registry: who is registered, bound, active, and which LLMs they serve."""

from __future__ import annotations

from typing import Any

import orjson

from domain.merge_patch import merge_state
from domain.timestamps import iso, micros
from projections.base import Projection, ViewCursor, handles


class WorkerRegistry(Projection):
    name = "worker_registry"
    tables = {
        "registry_workers": (
            "worker_id TEXT PRIMARY KEY, active INTEGER NOT NULL, channel_id TEXT, state TEXT NOT NULL, "
            "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, inactive_since_us BIGINT, "
            "position BIGINT NOT NULL"
        ),
        "registry_llms": (
            "name TEXT PRIMARY KEY, worker_id TEXT NOT NULL, model TEXT NOT NULL, type TEXT, tier TEXT, "
            "pool_name TEXT NOT NULL, pool_key TEXT NOT NULL, hibernating INTEGER NOT NULL, "
            "updated_at TEXT NOT NULL"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS registry_llms_pool ON registry_llms (pool_key)",
        "CREATE INDEX IF NOT EXISTS registry_llms_worker ON registry_llms (worker_id)",
    )

    @handles("Worker.Registered")
    def _registered(self, cur: ViewCursor, e: Any, position: int) -> None:
        at = iso(e.timestamp)
        cur.execute(
            "INSERT INTO registry_workers (worker_id, active, state, created_at, updated_at, position) "
            "VALUES (?, 1, '{}', ?, ?, ?) ON CONFLICT (worker_id) DO NOTHING",
            (e.worker_id, at, at, position),
        )
        self._providers(cur, e.worker_id, e.providers, at)

    @handles("Worker.Reregistered")
    def _reregistered(self, cur: ViewCursor, e: Any, position: int) -> None:
        worker_id = self._worker_id(e)
        self._set(cur, e, position, active=1, inactive_since_us=None)
        self._providers(cur, worker_id, e.providers, iso(e.timestamp))

    @handles("Worker.Bound")
    def _bound(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._set(cur, e, position, channel_id=e.channel_id, active=1, inactive_since_us=None)

    @handles("Worker.Unbound")
    def _unbound(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._set(cur, e, position, channel_id=None)

    @handles("Worker.WentInactive")
    def _inactive(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._set(cur, e, position, active=0, inactive_since_us=micros(e.timestamp))

    @handles("Worker.Reactivated")
    def _reactivated(self, cur: ViewCursor, e: Any, position: int) -> None:
        self._set(cur, e, position, active=1, inactive_since_us=None)

    @handles("Worker.StateUpdated")
    def _state(self, cur: ViewCursor, e: Any, position: int) -> None:
        row = cur.execute(
            "SELECT state FROM registry_workers WHERE worker_id = ?", (self._worker_id(e),)
        ).fetchone()
        if row is None:
            return
        state = merge_state(orjson.loads(row["state"]), e.patch)
        self._set(cur, e, position, state=orjson.dumps(state).decode())

    @handles("Worker.WakeAnswered")
    def _woke(self, cur: ViewCursor, e: Any, position: int) -> None:
        if e.ok:
            cur.execute(
                "UPDATE registry_llms SET hibernating = 0, updated_at = ? WHERE name = ? AND worker_id = ?",
                (iso(e.timestamp), e.llm_name, self._worker_id(e)),
            )
        self._set(cur, e, position)

    @handles("InferenceRetention.Swept")
    def _swept(self, cur: ViewCursor, e: Any, position: int) -> None:
        stale = "SELECT worker_id FROM registry_workers WHERE active = 0 AND inactive_since_us < ?"
        cur.execute(f"DELETE FROM registry_llms WHERE worker_id IN ({stale})", (e.llms_before_us,))
        cur.execute(
            "DELETE FROM registry_workers WHERE active = 0 AND inactive_since_us < ?", (e.llms_before_us,)
        )

    @staticmethod
    def _worker_id(e: Any) -> str:
        return str(e.originator_id).removeprefix("worker:")

    def _set(self, cur: ViewCursor, e: Any, position: int, **changes: Any) -> None:
        changes.update(updated_at=iso(e.timestamp), position=position)
        assignments = ", ".join(f"{column} = ?" for column in changes)
        cur.execute(
            f"UPDATE registry_workers SET {assignments} WHERE worker_id = ?",
            (*changes.values(), self._worker_id(e)),
        )

    @staticmethod
    def _providers(cur: ViewCursor, worker_id: str, providers: list[dict[str, Any]], at: str | None) -> None:
        cur.execute("DELETE FROM registry_llms WHERE worker_id = ?", (worker_id,))
        for p in providers:
            # A name another worker held before moves to this one (the use case checked it may).
            cur.execute("DELETE FROM registry_llms WHERE name = ?", (p["name"],))
            cur.execute(
                "INSERT INTO registry_llms (name, worker_id, model, type, tier, pool_name, pool_key, "
                "hibernating, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    p["name"],
                    worker_id,
                    p["model"],
                    p.get("type"),
                    p.get("tier"),
                    p.get("poolName") or p["name"],
                    p.get("poolName") or p["name"],
                    1 if p.get("hibernating") else 0,
                    at,
                ),
            )
