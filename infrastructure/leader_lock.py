"""Leadership for work that runs once per deployment (the projection runner)."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from infrastructure.database import connect_postgres

log = logging.getLogger(__name__)


class LocalLock:
    """One process owns the embedded store: always the leader."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


class AdvisoryLock:
    """A PostgreSQL session advisory lock held on a dedicated connection.

    The lock lives as long as the connection: if the connection dies, the lock is gone, and
    `acquire()` notices at its next check (at most `check_interval` later) and tries again. A
    replica without the lock tries it at most every `check_interval` too.
    """

    APPLICATION_NAME = "agentrun-leader"

    def __init__(self, conninfo: str, key: int, check_interval: float = 1.0) -> None:
        self._conninfo = conninfo
        self._key = key
        self._check_interval = check_interval
        self._conn: Any = None
        self._held = False
        self._checked_at = 0.0

    def acquire(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at < self._check_interval:
            # Held: checked a moment ago. Not held: tried a moment ago; a standby woken by every
            # commit of the leader must not ask PostgreSQL each time (a query per commit).
            return self._held
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect_postgres(self._conninfo, application_name=self.APPLICATION_NAME)
                self._held = False
            if self._held:
                self._conn.execute("SELECT 1")
            else:
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
                self._held = bool(row[0])
            self._checked_at = now
        except Exception as error:  # noqa: BLE001 - a lost connection is a lost lock
            log.warning("leader lock connection lost (%s)", type(error).__name__)
            self._drop()
        return self._held

    def release(self) -> None:
        self._drop()

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail
                self._conn.close()
        self._conn = None
