"""`agentrun projections rebuild [NAME...] [--verify]`: rebuild beside the live views, swap or compare."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tqdm import tqdm

from infrastructure.rebuild import Rebuild
from infrastructure.settings import Settings
from infrastructure.view_diff import ViewDiff
from projections.base import Projection

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


def _bar(total: int, what: str) -> tqdm:  # type: ignore[type-arg]
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
    finally:
        job.close()
        container.close()


def register(projections: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `rebuild` under `agentrun projections`."""
    p = projections.add_parser("rebuild", help="rebuild projections beside the live ones and swap them in")
    p.add_argument("names", nargs="*", metavar="NAME", help="projections to rebuild (default: all)")
    p.add_argument(
        "--verify",
        action="store_true",
        help="compare a rebuild with the live views; exit 1 on any difference",
    )
    p.add_argument("--batch-size", type=int, default=2_000)
    p.set_defaults(func=rebuild)
