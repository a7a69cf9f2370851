"""A pool checkout check that spots a dead connection without a round trip to the server.

A pre-ping (`SELECT ''` per checkout) costs a round trip on every query. A connection the server
closed or terminated (a restart, `pg_terminate_backend`, a dropped database) has an error message or
EOF waiting on its socket; a healthy idle connection has nothing to read. So a checkout only looks
at the socket, and the pool replaces a connection that fails the look.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg.pq import ConnStatus


def check_idle_connection(conn: Any) -> None:
    """Raise when the connection is closed, broken, or has unsolicited input (the server hung up)."""
    if conn.closed or conn.pgconn.status != ConnStatus.OK:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    if readable:
        # An idle connection of ours listens to nothing: input means a FATAL message or EOF.
        # Closed, so the pool discards it rather than taking it back as healthy.
        conn.close()
        raise psycopg.OperationalError("the server closed the idle connection")


def use_cheap_check(pool: Any) -> None:
    """Replace the pre-ping of a pool built by a library with the socket check."""
    if getattr(pool, "_check", None) is not None:
        pool._check = check_idle_connection
