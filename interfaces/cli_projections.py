"""`agentrun projections rebuild|skip|retry`: rebuild beside the live views; skip or retry a stalled one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tqdm import tqdm

from domain.errors import AgentRunError
from infrastructure.rebuild import Rebuild, RebuildError
from infrastructure.settings import Settings
from infrastructure.view_diff import ViewDiff
from projections.base import Projection

if TYPE_CHECKING:
    from interfaces.bootstrap import Container

MAX_SHOWN_DIFFERENCES = 20


def select(projections: Sequence[Projection], names: Sequence[str]) -> list[Projection]:
    """The named projections (all when none are named); an unknown name is an error."""
    if not names:
        return list(projections)
    known = {p.name: p for p in projections}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"agentrun: unknown projection(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]


def _bar(total: int, what: str) -> tqdm:
    return tqdm(total=total, desc=what, unit="pos", unit_scale=True, file=sys.stderr, dynamic_ncols=True)


def report(diff: ViewDiff) -> None:
    for table, (live, rebuilt) in sorted(diff.counts.items()):
        print(f"{table:<32} live {live:>9} rows  rebuilt {rebuilt:>9} rows")
    for difference in diff.differences[:MAX_SHOWN_DIFFERENCES]:
        print(f"  DIFFERENT {difference.describe()}")
    if len(diff.differences) > MAX_SHOWN_DIFFERENCES:
        print(f"  ... and {len(diff.differences) - MAX_SHOWN_DIFFERENCES} more")
    print("views match the rebuild" if diff.equal else f"{len(diff.differences)} differing rows")


def rebuild(args: argparse.Namespace) -> int:
    from interfaces.bootstrap import Container

    settings = Settings()
    container = Container(settings)
    selected = select(container.projections, args.names)
    job = Rebuild(container.log, container.db, selected, settings.data_dir, batch_size=args.batch_size)
    try:
        names = ", ".join(p.name for p in selected)
        return _rebuild(job, container, names, args)
    except RebuildError as error:
        print(f"agentrun: {error}", file=sys.stderr)
        return 1
    finally:
        job.close()
        container.close()


def _rebuild(job: Rebuild, container: Container, names: str, args: argparse.Namespace) -> int:
    """Verify (compare with the live views) or swap in; 0 when all went well."""
    if args.verify:
        target = min(job.live_positions().values(), default=0)
        with _bar(target, f"rebuild {names}") as bar:
            job.build(upto=target, progress=lambda p: bar.update(max(p - bar.n, 0)))
        diff = job.verify()
        report(diff)
        return 0 if diff.equal else 1
    with _bar(container.log.head(), f"rebuild {names}") as bar:
        job.build(progress=lambda p: bar.update(max(p - bar.n, 0)))
    position = job.swap()
    print(f"rebuilt and swapped in {names} at position {position}")
    return 0


def _control(args: argparse.Namespace, action: str) -> int:
    from application.projection_skips import ProjectionSkips
    from infrastructure.projection_state import StallBoard
    from interfaces.bootstrap import Container, utc_now

    container = Container(Settings())
    try:
        names = [p.name for p in container.projections]
        control = ProjectionSkips(container.log, StallBoard(container.db), utc_now, names)
        if action == "skip":
            at, stall = control.skip(args.name, args.position, args.reason)
            print(
                f"recorded ProjectionSkip at position {at}: {args.name} passes over position "
                f"{args.position} ({stall.get('eventType')}); the projection runner resumes it"
            )
        else:
            stall = control.retry(args.name)
            print(
                f"retry requested: the projection runner tries {args.name} again at position "
                f"{stall['position']} ({stall.get('eventType')}); see `agentrun projections status`"
            )
        return 0
    except AgentRunError as error:
        print(f"agentrun: {error.message}", file=sys.stderr)
        return 1
    finally:
        container.close()


def register(projections: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `rebuild`, `skip` and `retry` under `agentrun projections`."""
    p = projections.add_parser("rebuild", help="rebuild projections beside the live ones and swap them in")
    p.add_argument("names", nargs="*", metavar="NAME", help="projections to rebuild (default: all)")
    p.add_argument(
        "--verify",
        action="store_true",
        help="compare a rebuild with the live views; exit 1 on any difference",
    )
    p.add_argument("--batch-size", type=int, default=2_000)
    p.set_defaults(func=rebuild)

    p = projections.add_parser(
        "skip", help="record in the log that a stalled projection passes over the event it fails on"
    )
    p.add_argument("name", metavar="NAME", help="the stalled projection")
    p.add_argument("--position", type=int, required=True, help="the position it is stalled on")
    p.add_argument("--reason", required=True, help="why the event is skipped (kept in the log)")
    p.set_defaults(func=lambda args: _control(args, "skip"))
    p = projections.add_parser("retry", help="try a stalled projection again (after a fix)")
    p.add_argument("name", metavar="NAME", help="the stalled projection")
    p.set_defaults(func=lambda args: _control(args, "retry"))
