"""`agentrun serve`: one process, or N uvicorn worker processes each a replica (PostgreSQL only)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from starlette.applications import Starlette

from infrastructure.settings import LogLevel, Settings
from interfaces import logs

log = logging.getLogger("agentrun")


def admin_token(settings: Settings) -> str | None:
    """The admin token kept in the data dir when no tokens are configured (created and printed once)."""
    if settings.api_tokens or (settings.auth or "").lower() == "disabled":
        return None
    path = Path(settings.data_dir) / "admin-token"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    path.write_text(token + "\n")
    path.chmod(0o600)
    print(f"created an admin token (stored in {path}); use it as 'Authorization: Bearer {token}'")
    return token


def default_workers(settings: Settings) -> int:
    """One process per core on PostgreSQL; SQLite is one process on one machine."""
    return (os.cpu_count() or 1) if settings.database_url else 1


def create_server_app() -> Starlette:
    """The app of one server process (uvicorn's factory: every worker process builds its own)."""
    from interfaces.bootstrap import Container
    from interfaces.http.app import create_app
    from interfaces.http.auth import TokenRegistry

    settings = Settings()
    # This process may be a worker uvicorn spawned: set up its log (its level came in the environment).
    logs.configure(settings.log_format, settings.log_level)
    token = admin_token(settings)
    tokens = None
    if token is not None:
        tokens = TokenRegistry([{"token": token, "principal": "admin", "roles": ["admin"], "tenants": ["*"]}])
    return create_app(Container(settings, tokens=tokens))


def store_opens(settings: Settings) -> bool:
    """Open the store (and create its tables) once in this process, before the workers: uvicorn
    respawns a worker that fails to start, so a store that cannot open would otherwise loop."""
    from interfaces.bootstrap import Container

    try:
        Container(settings).close()
    except Exception as error:  # noqa: BLE001 - any failure to open is the operator's to fix
        log.error("cannot open the store at DATABASE_URL: %s", error)
        return False
    return True


def serve(host: str, port: int, workers: int | None, log_level: LogLevel | None) -> int:
    import uvicorn

    from interfaces.bootstrap import _version

    if log_level is not None:  # the flag wins over AGENTRUN_LOG_LEVEL, in uvicorn's workers too
        os.environ["AGENTRUN_LOG_LEVEL"] = log_level
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    count = default_workers(settings) if workers is None else workers
    if count < 1:
        raise SystemExit("--workers must be at least 1")
    if count > 1 and not settings.database_url:
        log.warning("SQLite serves from one process; ignoring --workers %d", count)
        count = 1
    admin_token(settings)  # created once here, read by every worker process
    if count > 1 and not store_opens(settings):
        return 1
    print(
        f"agentrun {_version()} on {settings.adapter}, http://{host}:{port}"
        + (f", {count} worker processes" if count > 1 else "")
    )
    uvicorn.run(
        "interfaces.serve:create_server_app",
        factory=True,
        host=host,
        port=port,
        workers=count if count > 1 else None,
        log_level=settings.log_level,
        # Our handler renders uvicorn's records too; the request log replaces its access log.
        log_config=None,
        access_log=False,
    )
    return 0
