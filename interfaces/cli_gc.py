"""`agentrun gc`: one retention sweep of the inference side, as the server runs every minute."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from infrastructure.settings import Settings


def gc(args: argparse.Namespace) -> int:
    from interfaces.bootstrap import Container

    container = Container(Settings())
    try:
        container.runner.catch_up()
        result = container.inference_sweeper.sweep()
    finally:
        container.close()
    if args.json:
        print(orjson.dumps(result).decode())
    else:
        print(
            f"workers gone inactive: {result['inactive']}, tasks reverted: {result['reverted']}, "
            f"pending tasks expired: {result['expired']}, view sweeps recorded: {result['swept']}"
        )
    return 0


def register(commands: Any) -> None:
    p = commands.add_parser("gc", help="retention sweep: expire old pending tasks, retire silent workers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=gc)
