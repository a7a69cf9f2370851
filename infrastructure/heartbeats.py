"""Worker liveness: the last heartbeat of each worker, a plain table rather than an event per beat.

Heartbeats are liveness, not history; the sweeper turns a silence into events (`Worker.WentInactive`).
"""

from __future__ import annotations

from infrastructure.database import Database

TABLE = "worker_heartbeats"


class Heartbeats:
    """Any replica may record a heartbeat; the sweeper reads which workers fell silent."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (worker_id TEXT PRIMARY KEY, last_us BIGINT NOT NULL)"
            )

    def touch(self, worker_id: str, at_us: int) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                f"INSERT INTO {TABLE} (worker_id, last_us) VALUES (?, ?) ON CONFLICT (worker_id) "
                "DO UPDATE SET last_us = excluded.last_us",
                (worker_id, at_us),
            )

    def last(self, worker_id: str) -> int | None:
        row = self.db.fetchone(f"SELECT last_us FROM {TABLE} WHERE worker_id = ?", (worker_id,))
        return None if row is None else int(row["last_us"])

    def silent_since(self, before_us: int) -> list[tuple[str, int]]:
        """Workers whose last heartbeat is older than `before_us`."""
        rows = self.db.fetchall(f"SELECT worker_id, last_us FROM {TABLE} WHERE last_us < ?", (before_us,))
        return [(row["worker_id"], int(row["last_us"])) for row in rows]
