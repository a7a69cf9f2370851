"""`agentrun audit AGGREGATE_ID [--version N | --at ISO]`: history and state from the events alone."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

import orjson

from application.access import SYSTEM
from application.errors import NotFoundError
from infrastructure.settings import Settings


def audit(args: argparse.Namespace) -> int:
    from interfaces.bootstrap import Container

    at = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else None
    container = Container(Settings())
    try:
        result = container.audit.audit(SYSTEM, args.aggregate_id, args.version, at)
    except NotFoundError as error:
        print(f"agentrun audit: {error.message}", file=sys.stderr)
        return 1
    finally:
        container.close()
    if args.json:
        print(orjson.dumps(result).decode())
        return 0
    print(f"{result['aggregateType']} {result['aggregateId']} at version {result['version']}")
    print("history:")
    for item in result["history"]:
        data = orjson.dumps(item["data"]).decode()
        version, position = item["aggregateVersion"], item["position"]
        who = item["actor"] or "-"
        print(f"  v{version:<4} {position:>8} {item['timestamp']} {item['type']} {who} {data}")
    print("state:")
    print(orjson.dumps(result["state"], option=orjson.OPT_INDENT_2).decode())
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser("audit", help="an aggregate's history and its state at a version or time")
    p.add_argument("aggregate_id", metavar="AGGREGATE_ID")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--version", type=int, metavar="N")
    when.add_argument("--at", metavar="ISO", help="an instant, e.g. 2026-01-02T03:04:05Z")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=audit)
