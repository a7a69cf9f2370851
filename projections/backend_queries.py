"""Reads of the backend tracker view: one run's backend and history, and the profiles' counts."""

from __future__ import annotations

from typing import Any

from projections.base import ViewCursor, in_tenants


def run_backend(cur: ViewCursor, run_id: str) -> dict[str, Any]:
    """`{runId, current, switches, history}`; a run with no backend resolved yet has an empty history."""
    row = cur.execute(
        "SELECT current_backend, switches FROM backend_runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    history = cur.execute(
        "SELECT backend_id, cache_key, at FROM backend_history WHERE run_id = ? ORDER BY seq", (run_id,)
    ).fetchall()
    return {
        "runId": run_id,
        "current": row["current_backend"] if row else None,
        "switches": int(row["switches"]) if row else 0,
        "history": [
            {"backendId": h["backend_id"], "cacheKey": h["cache_key"], "at": h["at"]} for h in history
        ],
    }


def profiles(
    cur: ViewCursor, *, tenants: list[str] | None, capabilities: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every configured profile and every profile seen on a visible run, by name; backends that
    serve no run now are left out of `runsByBackend`."""
    where, params = in_tenants(tenants)
    active = cur.execute(
        f"SELECT profile, SUM(active_runs) AS n FROM backend_profile_counts WHERE {where} GROUP BY profile",
        params,
    ).fetchall()
    by_backend = cur.execute(
        f"SELECT profile, backend_id, SUM(runs) AS n FROM backend_counts WHERE {where} "
        "GROUP BY profile, backend_id ORDER BY profile, backend_id",
        params,
    ).fetchall()
    result: dict[str, dict[str, Any]] = {
        name: _profile(name, capabilities.get(name, {})) for name in capabilities
    }
    for row in active:
        entry = result.setdefault(row["profile"], _profile(row["profile"], {}))
        entry["activeRuns"] = int(row["n"])
    for row in by_backend:
        if int(row["n"]) > 0:
            entry = result.setdefault(row["profile"], _profile(row["profile"], {}))
            entry["runsByBackend"][row["backend_id"]] = int(row["n"])
    return [result[name] for name in sorted(result)]


def _profile(name: str, capabilities: Any) -> dict[str, Any]:
    return {"profile": name, "capabilities": capabilities, "activeRuns": 0, "runsByBackend": {}}
