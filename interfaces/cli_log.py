"""`agentrun export FILE.jsonl`, `agentrun import FILE.jsonl` and `agentrun events tail`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson
from tqdm import tqdm

from application.access import SYSTEM
from application.event_log import EventFilter
from infrastructure.log_transfer import BadExportError, NonEmptyStoreError, export_log, import_log
from infrastructure.settings import Settings

TAIL_POLL_SECONDS = 1.0


def _container() -> Any:
    from interfaces.bootstrap import Container

    return Container(Settings())


def export(args: argparse.Namespace) -> int:
    container = _container()
    try:
        total = container.log.head()
        with (
            open(args.file, "wb") as out,
            tqdm(total=total, desc="export", unit="ev", file=sys.stderr) as bar,
        ):
            count = export_log(container.log, out, bar.update)
    finally:
        container.close()
    print(f"exported {count} events to {args.file}")
    return 0


def import_(args: argparse.Namespace) -> int:
    container = _container()
    try:
        with open(args.file, "rb") as source, tqdm(desc="import", unit="ev", file=sys.stderr) as bar:
            count = import_log(container.log, source, bar.update)
    except (NonEmptyStoreError, BadExportError) as error:
        print(f"agentrun import: {error}", file=sys.stderr)
        return 1
    finally:
        container.close()
    print(f"imported {count} events; run 'agentrun projections rebuild' (or start the server) for the views")
    return 0


def _line(item: dict[str, Any]) -> str:
    data = orjson.dumps(item["data"]).decode()
    who = item["actor"] or "-"  # `-`: stored before events named their actor
    return f"{item['position']:>8} {item['timestamp']} {item['type']:<28} {item['aggregateId']} {who} {data}"


def tail(args: argparse.Namespace) -> int:
    container = _container()
    flt = EventFilter.parse(args.types, args.aggregate_id, args.run_id, args.session_id)
    if args.follow and container.listener is not None:
        container.listener.start()  # LISTEN for other processes' commits; the poll covers the rest
    try:
        last = args.after
        while True:
            generation = container.events_signal.generation
            scan = container.event_log.scan(SYSTEM, last, 500, flt)
            for item in scan.items:
                print(orjson.dumps(item).decode() if args.json else _line(item), flush=True)
            last = scan.last
            if scan.at_end:
                if not args.follow:
                    return 0
                container.events_signal.wait(generation, TAIL_POLL_SECONDS)
    except KeyboardInterrupt:
        return 0
    finally:
        if args.follow and container.listener is not None:
            container.listener.stop()
        container.close()


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `export`, `import` and `events tail`."""
    p = commands.add_parser("export", help="write the whole log to a JSON-lines file")
    p.add_argument("file", metavar="FILE.jsonl")
    p.set_defaults(func=export)
    p = commands.add_parser("import", help="load an exported log into an empty store")
    p.add_argument("file", metavar="FILE.jsonl")
    p.set_defaults(func=import_)
    events = commands.add_parser("events", help="the event log")
    sub = events.add_subparsers(dest="action", required=True)
    p = sub.add_parser("tail", help="print the log after a position; --follow keeps printing new events")
    p.add_argument("--after", type=int, default=0, metavar="P")
    p.add_argument("--follow", "-f", action="store_true")
    p.add_argument("--types", help="comma-separated event types, e.g. Run.Claimed,Run.Finished")
    p.add_argument("--aggregate-id")
    p.add_argument("--run-id")
    p.add_argument("--session-id")
    p.add_argument("--json", action="store_true", help="one JSON object per line, as GET /events items")
    p.set_defaults(func=tail)
