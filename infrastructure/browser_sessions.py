"""Browser sessions of the console: a random id in a cookie, its record in the views database.

Only a digest of the session id is stored, so the table grants nothing to whoever reads it; the
CSRF value is derived from the id (another digest), so it is never stored either. A session holds
the principal's name, roles and tenants as they were at login, and an absolute expiry.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from domain.timestamps import iso, micros
from infrastructure.database import Database

TABLE = "console_sessions"
SCHEMA_LOCK_KEY = 0x6167_656E_7475_6931
DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id_digest TEXT PRIMARY KEY, principal TEXT NOT NULL, "
    "roles TEXT NOT NULL, tenants TEXT NOT NULL, created_at TEXT NOT NULL, "
    "expires_at TEXT NOT NULL, expires_us BIGINT NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_expiry ON {TABLE} (expires_us)",
)


def _digest(purpose: str, session_id: str) -> str:
    return hashlib.sha256(f"{purpose}:{session_id}".encode()).hexdigest()


def csrf_of(session_id: str) -> str:
    """The CSRF value of a session: computable only by whoever holds the session id."""
    return _digest("agentrun-csrf", session_id)[:43]


@dataclass(frozen=True)
class BrowserSession:
    """What a session cookie stands for."""

    principal: str
    roles: list[str]
    tenants: list[str]
    expires_at: str


class BrowserSessions:
    """Open, find and close console sessions; expired ones are found by nobody and purged."""

    def __init__(self, db: Database, clock: Callable[[], datetime], ttl: timedelta) -> None:
        self.db = db
        self.clock = clock
        self.ttl = ttl

    def create_table(self) -> None:
        with self.db.transaction() as cur:
            if self.db.dialect == "postgres":
                # Replicas starting together must not race on CREATE TABLE IF NOT EXISTS.
                cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK_KEY,))
            for statement in DDL:
                cur.execute(statement)

    def open(self, principal: str, roles: list[str], tenants: list[str]) -> tuple[str, BrowserSession]:
        """A new session for the principal: its secret id (for the cookie only) and its record."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + self.ttl
        record = BrowserSession(principal, sorted(roles), sorted(tenants), str(iso(expires)))
        with self.db.transaction() as cur:
            cur.execute(f"DELETE FROM {TABLE} WHERE expires_us <= ?", (micros(now),))
            cur.execute(
                f"INSERT INTO {TABLE} (id_digest, principal, roles, tenants, created_at, expires_at, "
                "expires_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _digest("agentrun-session", session_id),
                    principal,
                    orjson.dumps(record.roles).decode(),
                    orjson.dumps(record.tenants).decode(),
                    iso(now),
                    record.expires_at,
                    micros(expires),
                ),
            )
        return session_id, record

    def find(self, session_id: str) -> BrowserSession | None:
        """The live session with that id, or None (unknown, ended or expired)."""
        row = self.db.fetchone(
            f"SELECT principal, roles, tenants, expires_at FROM {TABLE} "
            "WHERE id_digest = ? AND expires_us > ?",
            (_digest("agentrun-session", session_id), micros(self.clock())),
        )
        if row is None:
            return None
        return BrowserSession(
            row["principal"], orjson.loads(row["roles"]), orjson.loads(row["tenants"]), row["expires_at"]
        )

    def close(self, session_id: str) -> bool:
        """End a session; True if it was live."""
        with self.db.transaction() as cur:
            digest = _digest("agentrun-session", session_id)
            cur.execute(f"DELETE FROM {TABLE} WHERE id_digest = ?", (digest,))
            return bool(cur.rowcount > 0)
