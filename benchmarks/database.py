"""Throwaway PostgreSQL databases for benchmarks, created and dropped per use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def throwaway_database(admin_url: str, prefix: str = "agentrun_bench") -> Iterator[str]:
    """A fresh, empty database next to `admin_url`'s; dropped (with its connections) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(admin_url: str, dbname: str) -> str:
    """The URL of database `dbname` on the server of `admin_url`."""
    p = connection_params(admin_url)
    auth = quote(p["user"], safe="")
    if p["password"]:
        auth += ":" + quote(p["password"], safe="")
    return f"postgresql://{auth}@{p['host']}:{p['port']}/{quote(dbname, safe='')}"


def connection_params(url: str) -> dict[str, str]:
    """Host, port, user, password and database name of a URL or conninfo string."""
    params = conninfo_to_dict(url)
    return {
        "dbname": str(params.get("dbname") or "postgres"),
        "host": str(params.get("host") or "127.0.0.1"),
        "port": str(params.get("port") or "5432"),
        "user": str(params.get("user") or "postgres"),
        "password": str(params.get("password") or ""),
    }
