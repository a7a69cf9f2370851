"""The backend tracker view: per run its current backend, switches and history; per backend
profile its active runs and runs by current backend, folded from Run and RunBackend events."""

from __future__ import annotations

from typing import Any

from domain.timestamps import iso
from projections.base import Projection, ViewCursor, handles


class Backends(Projection):
    name = "backends"
    tables = {
        "backend_runs": (
            "run_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, profile TEXT NOT NULL, "
            "active INTEGER NOT NULL, current_backend TEXT, switches BIGINT NOT NULL, "
            "resolutions BIGINT NOT NULL"
        ),
        "backend_history": (
            "run_id TEXT NOT NULL, seq BIGINT NOT NULL, backend_id TEXT NOT NULL, cache_key TEXT, "
            "at TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (run_id, seq)"
        ),
        "backend_profile_counts": (
            "tenant_id TEXT NOT NULL, profile TEXT NOT NULL, active_runs BIGINT NOT NULL, "
            "PRIMARY KEY (tenant_id, profile)"
        ),
        "backend_counts": (
            "tenant_id TEXT NOT NULL, profile TEXT NOT NULL, backend_id TEXT NOT NULL, runs BIGINT NOT NULL, "
            "PRIMARY KEY (tenant_id, profile, backend_id)"
        ),
    }

    @handles("Run.Created")
    def _run_created(self, cur: ViewCursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO backend_runs (run_id, tenant_id, profile, active, switches, resolutions) "
            "VALUES (?, ?, ?, 1, 0, 0) ON CONFLICT (run_id) DO NOTHING",
            (e.originator_id, e.tenant_id, e.backend_profile),
        )
        self._active(cur, e.tenant_id, e.backend_profile, 1)

    @handles("Run.Finished", "Run.Cancelled")
    def _run_ended(self, cur: ViewCursor, e: Any, position: int) -> None:
        row = cur.execute(
            "SELECT tenant_id, profile, active FROM backend_runs WHERE run_id = ?", (e.originator_id,)
        ).fetchone()
        if row is None or not row["active"]:
            return
        cur.execute("UPDATE backend_runs SET active = 0 WHERE run_id = ?", (e.originator_id,))
        self._active(cur, row["tenant_id"], row["profile"], -1)

    @handles("RunBackend.BackendResolved")
    def _resolved(self, cur: ViewCursor, e: Any, position: int) -> None:
        run_id = str(e.originator_id).removeprefix("run-backend:")
        row = cur.execute(
            "SELECT tenant_id, profile, current_backend, resolutions FROM backend_runs WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            return
        previous = row["current_backend"]
        seq = int(row["resolutions"]) + 1
        cur.execute(
            "UPDATE backend_runs SET current_backend = ?, resolutions = ?, switches = ? WHERE run_id = ?",
            (e.backend_id, seq, seq - 1, run_id),
        )
        cur.execute(
            "INSERT INTO backend_history (run_id, seq, backend_id, cache_key, at, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, seq, e.backend_id, e.cache_key, iso(e.timestamp), position),
        )
        if previous is not None:
            self._runs(cur, row["tenant_id"], row["profile"], previous, -1)
        self._runs(cur, row["tenant_id"], row["profile"], e.backend_id, 1)

    @staticmethod
    def _active(cur: ViewCursor, tenant_id: str, profile: str, delta: int) -> None:
        cur.execute(
            "INSERT INTO backend_profile_counts (tenant_id, profile, active_runs) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant_id, profile) DO UPDATE SET "
            "active_runs = backend_profile_counts.active_runs + excluded.active_runs",
            (tenant_id, profile, delta),
        )

    @staticmethod
    def _runs(cur: ViewCursor, tenant_id: str, profile: str, backend_id: str, delta: int) -> None:
        cur.execute(
            "INSERT INTO backend_counts (tenant_id, profile, backend_id, runs) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, profile, backend_id) DO UPDATE SET "
            "runs = backend_counts.runs + excluded.runs",
            (tenant_id, profile, backend_id, delta),
        )
