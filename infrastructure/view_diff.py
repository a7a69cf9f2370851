"""Row-by-row comparison of two copies of the same views (a rebuild beside the live ones)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from projections.base import Projection, ViewCursor

Rows = list[dict[str, Any]]
Views = dict[str, Rows]

_TABLE_KEY = re.compile(r"PRIMARY KEY\s*\(([^)]*)\)", re.IGNORECASE)
_COLUMN_KEY = re.compile(r"(\w+)\s+\w+\s+PRIMARY KEY", re.IGNORECASE)


def primary_key(columns_ddl: str) -> list[str]:
    """The primary key columns of a table, read from its columns DDL (every column when none)."""
    match = _TABLE_KEY.search(columns_ddl)
    if match:
        return [column.strip() for column in match.group(1).split(",")]
    match = _COLUMN_KEY.search(columns_ddl)
    if match:
        return [match.group(1)]
    return [part.strip().split()[0] for part in columns_ddl.split(",") if part.strip()]


def sort_key(row: dict[str, Any], key: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(row[column]) for column in key)


def dump_table(cur: ViewCursor, table: str, key: Sequence[str], qualifier: str = "") -> Rows:
    """Every row of a table, sorted by its primary key."""
    rows = cur.execute(f"SELECT * FROM {qualifier}{table}").fetchall()
    return sorted(rows, key=lambda row: sort_key(row, key))


def dump_views(cur: ViewCursor, projections: Sequence[Projection], qualifier: str = "") -> Views:
    """Every row of every table of the projections, sorted by primary key."""
    return {
        table: dump_table(cur, table, primary_key(columns), qualifier)
        for projection in projections
        for table, columns in projection.tables.items()
    }


@dataclass
class Difference:
    table: str
    key: tuple[str, ...]
    live: dict[str, Any] | None
    rebuilt: dict[str, Any] | None

    def describe(self) -> str:
        if self.live is None:
            return f"{self.table} {self.key}: missing from the live view"
        if self.rebuilt is None:
            return f"{self.table} {self.key}: in the live view only"
        changed = sorted(c for c in self.live if self.live.get(c) != self.rebuilt.get(c))
        detail = ", ".join(
            f"{c}: live {self.live.get(c)!r} != rebuilt {self.rebuilt.get(c)!r}" for c in changed
        )
        return f"{self.table} {self.key}: {detail}"


@dataclass
class ViewDiff:
    """Row counts per table and every differing row."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences


def diff_table(table: str, key: Sequence[str], live: Rows, rebuilt: Rows) -> list[Difference]:
    live_by_key = {sort_key(row, key): row for row in live}
    rebuilt_by_key = {sort_key(row, key): row for row in rebuilt}
    found = []
    for k in sorted(live_by_key.keys() | rebuilt_by_key.keys()):
        a, b = live_by_key.get(k), rebuilt_by_key.get(k)
        if a != b:
            found.append(Difference(table, k, a, b))
    return found


def diff_views(projections: Sequence[Projection], live: Views, rebuilt: Views) -> ViewDiff:
    result = ViewDiff()
    for projection in projections:
        for table, columns in projection.tables.items():
            result.counts[table] = (len(live[table]), len(rebuilt[table]))
            result.differences += diff_table(table, primary_key(columns), live[table], rebuilt[table])
    return result
