"""The commander's stats and items come from one snapshot, while writer threads keep adding tasks."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from application.access import SYSTEM
from interfaces.bootstrap import Container

WRITERS = 4
READ_SECONDS = 4.0


def test_commander_stats_and_items_agree_while_writers_add_tasks(container: Container, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("SQLite reads and writes share one lock; the race is PostgreSQL's")
    stop = threading.Event()
    priorities = itertools.count()  # each new task outranks every earlier one: it enters the top 20
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        i = 0
        try:
            while not stop.is_set():
                container.queue_tasks.create(
                    SYSTEM,
                    tenant_id="tenant-a",
                    project_id="proj",
                    queue="snap",
                    lane="fast",
                    priority=next(priorities),
                    payload={"writer": n, "i": i},
                    idempotency_key=None,
                )
                i += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    reads = 0
    disagreements: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + READ_SECONDS
        while time.monotonic() < deadline:
            answer = container.queue_tasks.commander(SYSTEM, "snap", 0)  # no wait: read mid-fold
            stats, items = answer["stats"], answer["items"]
            reads += 1
            # In one snapshot the stats count the tasks shown, and no task shown is newer than
            # the stats' latest version (the newest task is always among the items).
            newest = max((item["version"] for item in items), default=0)
            if len(items) != min(stats["total"], 20) or newest != stats["maxVersion"]:
                disagreements.append({"total": stats["total"], "items": len(items), "newest": newest,
                                      "maxVersion": stats["maxVersion"]})  # fmt: skip
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, errors
    assert reads > 10
    assert not disagreements, f"{len(disagreements)} of {reads} reads disagreed: {disagreements[:5]}"
