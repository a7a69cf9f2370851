"""Throwaway PostgreSQL databases for tests, created and dropped per use."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ADMIN_URL = os.environ.get("AGENTRUN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    params = conninfo_to_dict(ADMIN_URL)
    params["dbname"] = name
    return (
        "postgresql://{user}@{host}:{port}/{dbname}".format(
            user=params.get("user", "postgres"),
            host=params.get("host", "127.0.0.1"),
            port=params.get("port", "5432"),
            dbname=name,
        )
        if not params.get("password")
        else make_conninfo(**params)
    )


@contextmanager
def throwaway_database(prefix: str = "agentrun_test") -> Iterator[str]:
    """A fresh, empty database; dropped (with its connections) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_backends(url: str, application_name: str) -> int:
    """Kill the server-side connections of an application (as an outage would); returns how many."""
    dbname = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = %s",
            (dbname, application_name),
        ).fetchall()
    return len(rows)
