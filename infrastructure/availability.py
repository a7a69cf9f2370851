"""Whether PostgreSQL answers, known at once: a probe thread, and a gate that fails fast on it.

A request must not wait out a connect timeout (and the library's retries) to learn that the database
is down; and once it is back, the pools must not sit out their reconnect backoff. One thread per
process probes the database on a connection of its own: every `interval` while it answers, every
`down_interval` while it does not, and at once when a request reports a connection failure.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError
from psycopg_pool import ConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

log = logging.getLogger(__name__)

# libpq's smallest connect timeout; a stopped server refuses at once anyway.
CONNECT_TIMEOUT = 2
# A pool's waits for a connection are cut into slices, so a waiter sees the gate close.
CHECKOUT_SLICE = 0.25


class DatabaseUnavailable(psycopg.OperationalError, OperationalError):
    """The database did not answer the latest probe: fail now instead of waiting on it."""


@dataclass(frozen=True)
class Reachability:
    """The outcome of the latest probe."""

    reachable: bool
    migration_ready: bool
    error: str | None = None
    checked_at: float = 0.0


def fast_pool_reconnects(delay: float = 0.5) -> None:
    """Make psycopg_pool retry a lost connection every `delay` s, not with backoff up to minutes.

    The pool has no per-pool setting: its reconnect attempts (and its waits between failed checks)
    double from 1 s, so a pool that lost its connections in a 30 s outage comes back up to 30 s
    after the database does. Probes are cheap while a stopped server refuses at once.
    """
    AttemptWithBackoff.INITIAL_DELAY = delay
    AttemptWithBackoff.DELAY_BACKOFF = 1.0


class Availability:
    """Probes the database and keeps the answer; `check()` is the gate every checkout passes."""

    APPLICATION_NAME = "agentrun-probe"

    def __init__(
        self,
        conninfo: str,
        tables: Sequence[str] = (),
        interval: float = 0.5,
        down_interval: float = 0.2,
        stale_after: float = 1.0,
    ) -> None:
        self._conninfo = conninfo
        # Tables that must exist for `migration_ready` (the log's and the views' positions).
        self.tables = list(tables)
        self.interval = interval
        self.down_interval = down_interval
        self.stale_after = stale_after
        # Optimistic until the first probe: a CLI command that never starts the thread is not gated.
        self._state = Reachability(reachable=True, migration_ready=True)
        self._down_since: float | None = None
        self._probing_since: float | None = None
        self._conn: Any = None
        self._probe_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._recovered: list[Callable[[], None]] = []

    @property
    def running(self) -> bool:
        return self._thread is not None

    def on_recovered(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the database answers again, before the gate opens."""
        self._recovered.append(callback)

    def start(self) -> None:
        if self._thread is not None:
            return
        self.probe()
        self._stopped.clear()
        self._thread = threading.Thread(target=self._run, name="db-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close_connection()

    def check(self) -> None:
        """Raise `DatabaseUnavailable` at once while the latest probe failed."""
        if not self._state.reachable:
            raise DatabaseUnavailable("the database is unreachable")

    def suspect(self) -> None:
        """A request saw a connection fail: probe now rather than at the next tick."""
        self._wake.set()

    def status(self) -> Reachability:
        """The latest probe's answer; unreachable too when a probe has hung past `stale_after`."""
        probing_since = self._probing_since
        if probing_since is not None and time.monotonic() - probing_since > self.stale_after:
            return Reachability(False, False, "ProbeTimeout", probing_since)
        return self._state

    def probe(self) -> Reachability:
        """Ask the database once (reusing the probe's connection, or one fresh connect)."""
        with self._probe_lock:
            self._probing_since = time.monotonic()
            try:
                state = self._ask()
            finally:
                self._probing_since = None
            self._publish(state)
            return state

    def _ask(self) -> Reachability:
        for attempt in range(2):
            try:
                if self._conn is None:
                    self._conn = psycopg.connect(
                        self._conninfo,
                        autocommit=True,
                        connect_timeout=CONNECT_TIMEOUT,
                        application_name=self.APPLICATION_NAME,
                    )
                names = ", ".join(["to_regclass(%s) IS NOT NULL"] * len(self.tables)) or "true"
                row = self._conn.execute(f"SELECT {names}", self.tables).fetchone()
                ready = bool(row) and all(row)
                return Reachability(True, ready, None if ready else "MigrationMissing", time.monotonic())
            except psycopg.Error as error:
                self._close_connection()
                # A killed probe connection is no outage: only a fresh connect that fails is.
                if attempt == 1:
                    return Reachability(False, False, type(error).__name__, time.monotonic())
        raise AssertionError("unreachable")  # pragma: no cover

    def _publish(self, state: Reachability) -> None:
        was = self._state.reachable
        if was and not state.reachable:
            self._down_since = state.checked_at
            log.warning("database unreachable (%s): failing requests fast", state.error)
        elif not was and state.reachable:
            for callback in self._recovered:
                try:
                    callback()
                except Exception:  # a pool that cannot refresh recovers on its own, slower
                    log.exception("refreshing a pool after the outage failed")
            outage = state.checked_at - (self._down_since or state.checked_at)
            log.warning("database reachable again after %.1f s", outage)
        self._state = state

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.interval if self._state.reachable else self.down_interval)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self.probe()
            except Exception:  # the probe thread must outlive any surprise
                log.exception("database probe failed unexpectedly")

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail
                conn.close()


@contextmanager
def gated_connection(pool: ConnectionPool[Any], gate: Availability | None, timeout: float) -> Iterator[Any]:
    """A pool connection, waited for up to `timeout`, but given up at once when the gate closes."""
    deadline = time.monotonic() + timeout
    while True:
        if gate is not None:
            gate.check()
        remaining = deadline - time.monotonic()
        try:
            conn = pool.getconn(timeout=max(0.01, min(CHECKOUT_SLICE, remaining)))
            break
        except PoolTimeout:
            if time.monotonic() >= deadline:
                if gate is not None:
                    gate.suspect()
                raise
    try:
        with conn:
            yield conn
    except (psycopg.OperationalError, psycopg.InterfaceError):
        if gate is not None:
            gate.suspect()
        raise
    finally:
        pool.putconn(conn)


def refresh(pool: ConnectionPool[Any]) -> Callable[[], None]:
    """A recovery callback: replace the pool's idle connections, which the outage killed."""
    return pool.drain
