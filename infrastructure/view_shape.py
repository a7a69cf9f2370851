"""Views whose tables predate their projection's columns are dropped and folded again from the log.

`CREATE TABLE IF NOT EXISTS` keeps a table of an older shape, and an index on a new column then
fails at startup. A projection whose table misses a declared column is retired before the tables
are created: its tables are dropped and its position set back to 0, so the runner refolds it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from infrastructure.database import Cursor, Database
from infrastructure.projection_runner import SCHEMA_LOCK_KEY
from infrastructure.projection_state import POSITIONS_TABLE, set_position
from projections.base import Projection

log = logging.getLogger(__name__)

_CONSTRAINTS = ("PRIMARY", "UNIQUE", "CONSTRAINT", "CHECK", "FOREIGN")


def declared_columns(ddl: str) -> list[str]:
    """The column names of a table's columns DDL (constraints skipped)."""
    parts, depth, current = [], 0, ""
    for char in ddl:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    names = [part.split()[0] for part in parts if part.strip()]
    return [name for name in names if name.upper() not in _CONSTRAINTS]


def _present_columns(cur: Cursor, dialect: str, table: str) -> set[str]:
    if dialect == "postgres":
        rows = cur.execute(
            "SELECT column_name AS name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        ).fetchall()
    else:
        rows = cur.execute(f"PRAGMA table_info({table})").fetchall()
    return {str(row["name"]) for row in rows}


def _positions_exist(cur: Cursor, dialect: str) -> bool:
    return bool(_present_columns(cur, dialect, POSITIONS_TABLE))


def retire_outdated_views(db: Database, projections: Sequence[Projection]) -> list[str]:
    """Drop the tables of every projection whose existing tables miss a column; returns their names."""
    retired = []
    with db.transaction() as cur:
        if db.dialect == "postgres":
            cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK_KEY,))
        for projection in projections:
            outdated, found, missing = False, False, False
            for table, ddl in projection.tables.items():
                present = _present_columns(cur, db.dialect, table)
                if present and not set(declared_columns(ddl)) <= present:
                    outdated = True
                found, missing = found or bool(present), missing or not present
            # A table added to a projection that already has rows would stay empty: fold again.
            outdated = outdated or (found and missing)
            if not outdated:
                continue
            for table in projection.tables:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
            if _positions_exist(cur, db.dialect):
                set_position(cur, projection.name, 0)
            log.warning("view %s predates its columns: dropped, folded again from the log", projection.name)
            retired.append(projection.name)
    return retired
