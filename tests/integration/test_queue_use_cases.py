"""Queue and backend tracker use cases on both stores: races on one key or one run, configured
profiles, and views equal to a rebuild from the log."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from application.access import SYSTEM
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from projections.backends import Backends
from projections.queue_stats import QueueStats
from projections.queue_tasks import QueueTasks
from tests.support.views import assert_views_match_rebuild

THREADS = 8


def all_at_once(action: Any) -> list[Any]:
    barrier = threading.Barrier(THREADS, timeout=30)

    def run(n: int) -> Any:
        barrier.wait()
        return action(n)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS), timeout=60))


def new_run(container: Container, profile: str = "codex") -> dict[str, Any]:
    return container.runs.create(
        SYSTEM,
        tenant_id="tenant-a",
        project_id="proj",
        backend_profile=profile,
        session_ref=None,
        resource_bundle_ref=None,
    )


def test_racing_creates_with_one_key_make_one_task(container: Container) -> None:
    def create(_: int) -> tuple[dict[str, Any], bool]:
        return container.queue_tasks.create(
            SYSTEM,
            tenant_id="tenant-a",
            project_id="proj",
            queue="q",
            lane="l",
            priority=1,
            payload={"same": True},
            idempotency_key="one-key",
        )

    outcomes = all_at_once(create)

    assert sum(created for _, created in outcomes) == 1
    assert len({task["id"] for task, _ in outcomes}) == 1
    assert container.queue_tasks.stats(SYSTEM, "q", None)["total"] == 1


def test_racing_resolutions_of_one_backend_record_it_once(container: Container) -> None:
    run = new_run(container)

    outcomes = all_at_once(lambda _: container.backends.resolve(SYSTEM, run["id"], "gpu-1", None))

    assert sum(o["changed"] for o in outcomes) == 1
    tracked = container.backends.get(SYSTEM, run["id"], None)
    assert (tracked["current"], tracked["switches"], len(tracked["history"])) == ("gpu-1", 0, 1)


def test_configured_profiles_are_listed_with_their_capabilities(settings: Settings) -> None:
    capabilities = {"codex": {"streaming": True, "tools": ["shell"]}, "idle-profile": {"gpu": False}}
    configured = settings.model_copy(update={"backend_profiles": orjson.dumps(capabilities).decode()})
    container = Container(configured)
    container.start()
    try:
        new_run(container, "codex")
        new_run(container, "unconfigured")

        profiles = {p["profile"]: p for p in container.backends.profiles(SYSTEM, None)}

        assert profiles["codex"]["capabilities"] == capabilities["codex"]
        assert profiles["codex"]["activeRuns"] == 1
        assert profiles["idle-profile"] == {
            "profile": "idle-profile",
            "capabilities": {"gpu": False},
            "activeRuns": 0,
            "runsByBackend": {},
        }
        assert profiles["unconfigured"]["capabilities"] == {}
    finally:
        container.close()


def test_queue_and_backend_views_equal_a_rebuild_from_the_log(container: Container) -> None:
    tasks = [
        container.queue_tasks.create(
            SYSTEM,
            tenant_id=tenant,
            project_id="proj",
            queue="q",
            lane=f"lane-{n % 2}",
            priority=n,
            payload={"n": n},
            idempotency_key=None,
        )[0]
        for n, tenant in enumerate(["tenant-a", "tenant-b"] * 3)
    ]
    container.queue_tasks.record_attempt(
        SYSTEM, tasks[0]["id"], state="running", latest_attempt={"attemptId": "a"}, session_path="x/y/z"
    )
    container.queue_tasks.record_attempt(
        SYSTEM, tasks[1]["id"], state="completed", latest_attempt={"attemptId": "a"}, session_path=None
    )
    container.queue_tasks.cancel(SYSTEM, tasks[2]["id"], "no")
    container.queue_tasks.mark_read(SYSTEM, tasks[0]["id"], "alice")
    run = new_run(container)
    container.backends.resolve(SYSTEM, run["id"], "gpu-1", "k")
    container.backends.resolve(SYSTEM, run["id"], "gpu-2", None)
    container.runs.cancel(SYSTEM, run["id"], "done")
    assert container.views.wait_for(None, 30)

    live = assert_views_match_rebuild(container.log, container.db, [QueueTasks(), QueueStats(), Backends()])

    assert len(live["queue_tasks"]) == 6 and len(live["backend_history"]) == 2
