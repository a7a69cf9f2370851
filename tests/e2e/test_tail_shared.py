"""Many tails joining the shared reader at different points while writers append: each sees its
matching events once, in order (ADR 0024)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support.server import Api, Server, unique
from tests.support.tail import follow, read_tail

WRITERS = 4
PER_WRITER = 60


def claimed_run(api: Api, tenant: str) -> str:
    run = api.create_run(tenant=tenant)
    api.ok(api.post(f"/runs/{run['id']}/claim", {"runnerId": unique("r"), "leaseMs": 600_000}))
    return str(run["id"])


def positions(api: Api, after: int, **params: Any) -> list[int]:
    found: list[int] = []
    while True:
        page = api.ok(api.get("/events", after=after, limit=500, **params))
        found += [item["position"] for item in page["items"]]
        if page["nextAfter"] is None:
            return found
        after = page["nextAfter"]


def test_tails_starting_behind_and_at_the_head_each_see_their_events_once(server: Server) -> None:
    admin = server.client("admin")
    runs = [claimed_run(admin, "tenant-a" if n % 2 == 0 else "tenant-b") for n in range(WRITERS)]
    start = admin.ok(admin.get(f"/runs/{runs[-1]}"))["position"]
    older = max(0, start - 40)
    # (role, params, resume from): behind the head, at it, filtered by run, tenant-scoped.
    tails = [
        ("admin", {"runId": runs[0]}, older),
        ("admin", {"runId": runs[1], "types": "Run.EventAppended"}, start),
        ("admin", {}, start),
        ("admin", {}, older),
        ("auditor", {}, start),
    ]
    counts = [
        len(positions(admin, after, **params)) + (PER_WRITER if "runId" in params else 0)
        for role, params, after in tails
    ]
    counts[2] = counts[3] = counts[4] = -1  # unfiltered tails: known after the writes
    results: dict[int, list[int]] = {}

    final: dict[int, int] = {}

    def follow_tail(n: int) -> None:
        role, params, after = tails[n]
        if counts[n] >= 0:
            frames = read_tail(
                server.base_url, counts[n], role=role, params=params, last_event_id=after, timeout=60
            ).frames
        else:  # connects while the writers append; stops once it has all written before the end
            frames = follow(
                server.base_url,
                lambda got: n in final and len(got) >= final[n],
                role=role,
                params=params,
                after=after,
                timeout=60,
            )
        results[n] = [f.id for f in frames]

    readers = [threading.Thread(target=follow_tail, args=(n,)) for n in (0, 1)]
    for reader in readers:
        reader.start()

    def write(run_id: str) -> None:
        api = server.client("admin")
        for n in range(PER_WRITER):
            api.ok(api.post(f"/runs/{run_id}/events", {"type": "usage", "payload": {"n": n}}), 201)

    late = [threading.Thread(target=follow_tail, args=(n,)) for n in (2, 3, 4)]
    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [pool.submit(write, run_id) for run_id in runs]
        for thread in late:
            thread.start()
        for future in futures:
            future.result()
    for n in (2, 3, 4):
        role, params, after = tails[n]
        final[n] = len(positions(server.client(role), after, **params))
    for thread in readers + late:
        thread.join(timeout=90)
    auditor = server.client("auditor")
    for n, (role, params, after) in enumerate(tails):
        api = auditor if role == "auditor" else admin
        got = results[n]
        # Unfiltered tails stop at the head they were given; anything logged since is not theirs.
        assert len(got) >= final.get(n, counts[n]) > 0, f"tail {n} {params}: {len(got)} frames"
        assert got == positions(api, after, **params)[: len(got)], f"tail {n} {params}"
