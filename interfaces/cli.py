"""The `agentrun` command line."""

from __future__ import annotations

import argparse
import logging
import sys

import orjson
from pydantic import ValidationError

from infrastructure.settings import LOG_LEVELS, Settings
from interfaces import cli_audit, cli_gc, cli_log, cli_projections

log = logging.getLogger("agentrun")


def serve(args: argparse.Namespace) -> int:
    from interfaces.serve import serve as run_server

    return run_server(args.host, args.port, args.workers, args.log_level)


def projections_status(args: argparse.Namespace) -> int:
    from infrastructure.projection_state import progress_rows
    from interfaces.bootstrap import Container

    container = Container(Settings())
    try:
        rows = progress_rows(container.db, container.log, [p.name for p in container.projections])
    finally:
        container.close()
    if args.json:
        print(orjson.dumps(rows).decode())
    else:
        print(f"{'projection':<24} {'position':>10} {'head':>10} {'lag':>8}  status")
        for row in rows:
            status = row["status"]
            if row["error"]:
                error = row["error"]
                status += f" on position {error['position']} ({error['eventType']}): {error['message']}"
            print(
                f"{row['name']:<24} {row['position']:>10} {row['headPosition']:>10} {row['lag']:>8}  {status}"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentrun", description="Event-sourced agent runs.")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="run the HTTP server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=None,
        help="the least severe line logged (default: AGENTRUN_LOG_LEVEL, else info; requests log at info)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes, each a replica (default: the number of cores on PostgreSQL; SQLite: 1)",
    )
    p.set_defaults(func=serve)

    projections = commands.add_parser("projections", help="inspect projections")
    sub = projections.add_subparsers(dest="action", required=True)
    p = sub.add_parser("status", help="position, head and lag of each projection")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=projections_status)
    cli_projections.register(sub)
    cli_log.register(commands)
    cli_audit.register(commands)
    cli_gc.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValidationError as error:
        if error.title != Settings.__name__:
            raise
        # A setting from the environment that cannot be read: say which, not a traceback.
        print(f"agentrun: {settings_errors(error)}", file=sys.stderr)
        return 2


def settings_errors(error: ValidationError) -> str:
    """One line per bad setting: its variable and what it should be."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'settings'}: {e['msg']}" for e in error.errors()
    )


if __name__ == "__main__":
    sys.exit(main())
