"""Rebuild projections off to the side while the server runs, then swap them in or compare.

A rebuild folds the whole log into fresh copies of the views: on PostgreSQL in a schema of its
own (the rebuild connection's `search_path` points there, so the projections' unqualified table
names resolve to it), on SQLite in a file of its own. Then, holding the live projection positions
(`FOR UPDATE` on PostgreSQL, the write lock on SQLite) so the live runner waits, it folds the
last events and either swaps the copies in (PostgreSQL moves tables between schemas, SQLite
replaces the rows) and sets the positions, or compares them with the live views row by row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo

from infrastructure.database import Cursor, Database, PostgresDatabase, SqliteDatabase
from infrastructure.event_log import EventLog
from infrastructure.projection_runner import (
    ADVANCED_CHANNEL,
    ProjectionRunner,
    create_tables,
    decode_or_poison,
    fold,
)
from infrastructure.projection_state import load_skips, read_positions, read_states, set_position, states
from infrastructure.signals import Signal
from infrastructure.view_diff import ViewDiff, diff_views, dump_views
from projections.base import Projection

Progress = Callable[[int], None]


def _no_progress(position: int) -> None:
    pass


class RebuildError(Exception):
    """A projection's fold fails on an event of the log (skip it, or fix the fold, first)."""


class Rebuild:
    """One rebuild of the given projections beside the live views of `db`."""

    def __init__(
        self,
        log: EventLog,
        db: Database,
        projections: Sequence[Projection],
        side_dir: Path,
        batch_size: int = 2_000,
    ) -> None:
        self.log = log
        self.live = db
        # Fresh instances: a projection may cache what it has seen.
        self.fresh = [type(p)() for p in projections]
        self.names = [p.name for p in self.fresh]
        self.batch_size = batch_size
        self.side_dir = side_dir
        # Every skip recorded in the log, wherever it stands: the same events the live runner skips.
        self.skips = load_skips(log)
        self.tag = uuid.uuid4().hex[:12]
        self.side: Database
        if isinstance(db, PostgresDatabase):
            self.live_schema = str(self._live_scalar("SELECT current_schema() AS v"))
            self.schema = f"agentrun_rebuild_{self.tag}"
            with db.transaction() as cur:
                cur.execute(f"CREATE SCHEMA {self.schema}")
            self.side = PostgresDatabase(
                make_conninfo(db.conninfo, options=f"-c search_path={self.schema}"), 2
            )
        else:
            self.side_path = side_dir / f"rebuild-{self.tag}.sqlite3"
            self.side = SqliteDatabase(self.side_path)
        create_tables(self.side, self.fresh)

    def _live_scalar(self, sql: str) -> Any:
        row = self.live.fetchone(sql)
        return None if row is None else row["v"]

    def live_positions(self) -> dict[str, int]:
        found = states(self.live)
        return {name: state.position for name, state in found.items() if name in self.names}

    def build(self, upto: int | None = None, progress: Progress = _no_progress) -> int:
        """Fold the log into the side copies up to `upto` (default: the head); returns the position.

        On PostgreSQL the fold runs into a scratch SQLite file (a statement there costs
        microseconds, a round trip to the server a hundred), and the tables are then copied into
        the side schema with COPY: the fold's SQL is the same on both (ADR 0036).
        """
        if not isinstance(self.side, PostgresDatabase):
            return self._build_into(self.side, upto, progress)
        self.side_dir.mkdir(parents=True, exist_ok=True)  # a PostgreSQL deployment may have none yet
        scratch_path = self.side_dir / f"rebuild-scratch-{self.tag}.sqlite3"
        scratch = SqliteDatabase(scratch_path)
        try:
            create_tables(scratch, self.fresh)
            position = self._build_into(scratch, upto, progress)
            self._copy_into_side(scratch)
        finally:
            scratch.close()
            for suffix in ("", "-wal", "-shm"):
                with suppress(FileNotFoundError):
                    Path(f"{scratch_path}{suffix}").unlink()
        return position

    def _build_into(self, db: Database, upto: int | None, progress: Progress) -> int:
        runner = ProjectionRunner(
            self.log,
            db,
            self.fresh,
            events_signal=Signal(),
            advanced_signal=Signal(),
            batch_size=self.batch_size,
            skips=self.skips,
        )
        while runner.run_once(upto):
            progress(min(runner.positions().values()))
        for name, failure in runner.failures.items():
            raise RebuildError(
                f"projection {name} fails on position {failure.position} ({failure.event_type}): "
                f"{failure.message}; fix the fold, or `agentrun projections skip {name}`"
            )
        position = min(runner.positions().values())
        progress(position)
        return position

    def _copy_into_side(self, scratch: Database) -> None:
        """Every table and position of the scratch copies into the side schema."""
        assert isinstance(self.side, PostgresDatabase)
        with scratch.read() as cur:
            positions = read_positions(cur)
        with self.side.pool.connection() as conn:
            for projection in self.fresh:
                for table in projection.tables:
                    with scratch.read() as cur:
                        rows = cur.execute(f"SELECT * FROM {table}").fetchall()
                    if not rows:
                        continue
                    columns = list(rows[0])
                    with (
                        conn.cursor() as pg,
                        pg.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
                    ):
                        for row in rows:
                            copy.write_row(tuple(row[column] for column in columns))
        with self.side.transaction() as cur:
            for name, position in positions.items():
                set_position(cur, name, position)

    def swap(self) -> int:
        """Fold the last events and put the copies in place of the live views; returns the position."""
        if isinstance(self.side, PostgresDatabase):
            return self._swap_postgres()
        return self._swap_sqlite()

    def verify(self) -> ViewDiff:
        """Bring the copies to the live positions and compare them with the live views."""
        if isinstance(self.side, PostgresDatabase):
            with self.side.transaction() as cur:
                live = self._lock_live_positions(cur, self.live_schema)
                self._fold(cur, self._side_positions(cur), live)
                return diff_views(
                    self.fresh,
                    dump_views(cur, self.fresh, f"{self.live_schema}."),
                    dump_views(cur, self.fresh),
                )
        with self.live.transaction() as live_cur:
            live = self._lock_live_positions(live_cur, "")
            with self.side.transaction() as cur:
                self._fold(cur, self._side_positions(cur), live)
                rebuilt = dump_views(cur, self.fresh)
            return diff_views(self.fresh, dump_views(live_cur, self.fresh), rebuilt)

    def close(self) -> None:
        """Drop the side copies (whatever was not swapped in)."""
        self.side.close()
        if isinstance(self.live, PostgresDatabase):
            with self.live.transaction() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        else:
            for suffix in ("", "-wal", "-shm"):
                with suppress(FileNotFoundError):
                    Path(f"{self.side_path}{suffix}").unlink()

    # -- inside the swap or compare transaction ---------------------------------------------

    def _lock_live_positions(self, cur: Cursor, schema: str) -> dict[str, int]:
        # Every row, in the live runner's order, so the two cannot deadlock.
        found = read_states(cur, lock=bool(schema), schema=schema)
        return {name: found[name].position if name in found else 0 for name in self.names}

    def _side_positions(self, cur: Cursor) -> dict[str, int]:
        return read_positions(cur)

    def _fold(self, cur: Cursor, positions: dict[str, int], targets: dict[str, int] | None) -> dict[str, int]:
        """Apply events above each copy's position (up to its target, or the head); returns new positions."""
        low = min(positions.values())
        top = max(targets.values()) if targets else None
        last = low
        while True:
            batch = self.log.notifications(after=last, limit=self.batch_size, upto=top)
            if not batch:
                break
            for notification in batch:
                event = decode_or_poison(self.log, notification)
                for projection in self.fresh:
                    start = positions[projection.name]
                    if (
                        start < notification.id
                        and (targets is None or notification.id <= targets[projection.name])
                        and (projection.name, notification.id) not in self.skips
                    ):
                        fold(projection, cur, event, notification.id)
            last = batch[-1].id
        reached = {
            name: (targets[name] if targets else max(position, last)) for name, position in positions.items()
        }
        for name, position in reached.items():
            set_position(cur, name, position)
        return reached

    def _swap_postgres(self) -> int:
        retired = f"agentrun_retired_{self.tag}"
        live = self.live_schema
        with self.side.transaction() as cur:
            self._lock_live_positions(cur, live)
            reached = self._fold(cur, self._side_positions(cur), None)
            cur.execute(f"CREATE SCHEMA {retired}")
            for projection in self.fresh:
                for table in projection.tables:
                    cur.execute(f"ALTER TABLE IF EXISTS {live}.{table} SET SCHEMA {retired}")
                    cur.execute(f"ALTER TABLE {self.schema}.{table} SET SCHEMA {live}")
                set_position(cur, projection.name, reached[projection.name], clear=True, schema=live)
            cur.execute(f"NOTIFY {ADVANCED_CHANNEL}")
        with self.live.transaction() as cur:
            cur.execute(f"DROP SCHEMA {retired} CASCADE")
        return min(reached.values())

    def _swap_sqlite(self) -> int:
        with self.live.transaction() as live_cur:
            self._lock_live_positions(live_cur, "")
            with self.side.transaction() as cur:
                reached = self._fold(cur, self._side_positions(cur), None)
                copies = dump_views(cur, self.fresh)
            for projection in self.fresh:
                for table in projection.tables:
                    live_cur.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in projection.create_statements():
                    live_cur.execute(statement)
                for table in projection.tables:
                    rows = copies[table]
                    if rows:
                        columns = list(rows[0])
                        marks = ", ".join("?" for _ in columns)
                        live_cur.executemany(
                            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                            [tuple(row[c] for c in columns) for row in rows],
                        )
                set_position(live_cur, projection.name, reached[projection.name], clear=True)
        return min(reached.values())
