"""The database that holds projection views: one interface over SQLite and PostgreSQL.

SQL is written once with `?` placeholders; rows come back as dicts on both.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from infrastructure.availability import (
    CONNECT_TIMEOUT,
    Availability,
    DatabaseUnavailable,
    fast_pool_reconnects,
    gated_connection,
)
from infrastructure.connection_check import check_idle_connection

_PERCENT = re.compile(r"%")
# The row of an `INSERT ... VALUES (?, ?, ...)`, which `executemany` can unnest on PostgreSQL.
_VALUES_ROW = re.compile(r"VALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
# Seconds a SQLite statement waits on another process's lock before the request answers 503.
SQLITE_LOCK_TIMEOUT = 5


class Cursor:
    """A cursor taking `?` placeholders and returning dict rows."""

    def __init__(self, raw: Any, convert: bool) -> None:
        self._raw = raw
        self._convert = convert

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self._convert:
            sql = _PERCENT.sub("%%", sql).replace("?", "%s")
        self._raw.execute(sql, params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], types: Sequence[str] = ()) -> None:
        """`sql` once per row. Given the PostgreSQL `types` of its columns, a statement with one
        `VALUES (?, ...)` row (an `INSERT`, or a `WITH ... AS (VALUES (?, ...))` an `UPDATE` joins)
        is one statement on PostgreSQL over the rows as one JSON array of arrays (dumped
        by orjson in C, taken apart by PostgreSQL in C), where psycopg pipelines a statement per
        row, each built in Python, and dumps an array parameter element by element in Python."""
        if not self._convert:
            self._raw.executemany(sql, rows)
            return
        sql = _PERCENT.sub("%%", sql)
        values = _VALUES_ROW.search(sql) if types else None
        if values is None:
            self._raw.executemany(sql.replace("?", "%s"), rows)
            return
        if not rows:
            return
        columns = ", ".join(f"(item->>{n})::{t}" for n, t in enumerate(types))
        select = f"SELECT {columns} FROM json_array_elements(%s::json) AS item"
        statement = sql[: values.start()] + select + sql[values.end() :]
        self._raw.execute(statement.replace("?", "%s"), [orjson.dumps(rows).decode()])

    def fetchone(self) -> dict[str, Any] | None:
        row = self._raw.fetchone()
        return None if row is None else dict(row)

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._raw.fetchall()]

    @property
    def rowcount(self) -> int:
        return int(self._raw.rowcount)


class Database:
    """Transactions and reads against the view tables."""

    dialect: str

    def transaction(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, snapshot: bool = False) -> Any:  # pragma: no cover - interface
        """A cursor for reads; `snapshot`: all its statements see one consistent state."""
        raise NotImplementedError

    def notify(self, cursor: Cursor, channel: str) -> None:
        """Signal other processes from inside a transaction (a no-op where there are none)."""

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.read() as cur:
            rows: list[dict[str, Any]] = cur.execute(sql, params).fetchall()
            return rows

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        with self.read() as cur:
            row: dict[str, Any] | None = cur.execute(sql, params).fetchone()
            return row


class SqliteDatabase(Database):
    """One connection behind a lock: the embedded default serves one process."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=SQLITE_LOCK_TIMEOUT
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._locked():
            raw = self._conn.cursor()
            _locked_is_unavailable(raw.execute, "BEGIN IMMEDIATE")
            try:
                yield Cursor(raw, convert=False)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            _locked_is_unavailable(raw.execute, "COMMIT")

    @contextmanager
    def read(self, snapshot: bool = False) -> Iterator[Cursor]:
        # Writes take the same lock, so a read (snapshot or not) sees no write half-way.
        with self._locked():
            yield Cursor(self._conn.cursor(), convert=False)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # A transaction stuck on another process's lock holds ours: wait no longer than it may.
        if not self._lock.acquire(timeout=SQLITE_LOCK_TIMEOUT + 1):
            raise DatabaseUnavailable("the views database is locked")
        try:
            yield
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresDatabase(Database):
    """A connection pool that replaces dead connections, so a restarted server is survived."""

    dialect = "postgres"

    def __init__(self, conninfo: str, max_size: int = 20, gate: Availability | None = None) -> None:
        self.conninfo = conninfo
        self.gate = gate
        fast_pool_reconnects()
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            check=check_idle_connection,  # no round trip per checkout
            timeout=5,
            open=True,
            name="agentrun-views",
        )

    def connection(self) -> Any:
        """A pooled connection; fails at once while the database is known to be away."""
        return gated_connection(self.pool, self.gate, self.pool.timeout)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.connection() as conn, conn.transaction(), conn.cursor() as raw:
            yield Cursor(raw, convert=True)

    @contextmanager
    def read(self, snapshot: bool = False) -> Iterator[Cursor]:
        with self.connection() as conn, conn.cursor() as raw:
            if not snapshot:
                yield Cursor(raw, convert=True)
                return
            # Every statement of a snapshot read sees the same committed state.
            with conn.transaction():
                raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield Cursor(raw, convert=True)

    def notify(self, cursor: Cursor, channel: str) -> None:
        cursor.execute(f"NOTIFY {channel}")

    def close(self) -> None:
        self.pool.close()


def connect_postgres(conninfo: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A plain autocommit connection, for listeners and advisory locks."""
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT, **kwargs)


def _locked_is_unavailable(execute: Any, sql: str) -> None:
    """Run a statement; another process holding the lock past the timeout is a 503, not a 500."""
    try:
        execute(sql)
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise DatabaseUnavailable("the views database is locked") from error
        raise
