"""Read latencies through a real server over a large data set, and the session list's baseline.

    python -m benchmarks.reads --sessions 100000
    python -m benchmarks.reads --sessions 20000 --synthetic 1000000   # the list at 1M view rows
    python -m benchmarks.reads --backend sqlite --sessions 100000

The data set is built through the application layer, concurrent callers sharing the log's group
commits, into a throwaway database: N sessions with one run each (every 10th cancelled, every
10th with a turn, every 5th marked read by reader r1), a 1,000- and a 20,000-event run.
`--synthetic M` then adds M rows straight into the session views (reads are what is measured).
Each read is requested 300 times, one after another, and its p50/p99 printed; last comes
`ratio agentrun / baseline`: the first page over HTTP against the same page computed by the
previous query (ranks per row, a plain ORDER BY over the table), run on the same database.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from application.access import SYSTEM
from benchmarks.database import DEFAULT_ADMIN_URL, throwaway_database
from domain.session import session_aggregate_id
from infrastructure.database import Database, PostgresDatabase, SqliteDatabase
from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from tests.support.synthetic_sessions import fill as fill_synthetic

REQUESTS = 300
PAGES = 21
BASELINE = (
    "SELECT * FROM (SELECT s.*, c.session_version AS cursor_version, "
    "CASE WHEN s.execution_state = 'running' OR s.active_run_id IS NOT NULL "
    "OR s.active_command_id IS NOT NULL THEN 0 ELSE 1 END AS a_rank, "
    "CASE WHEN NOT (s.execution_state = 'running' OR s.active_run_id IS NOT NULL OR "
    "s.active_command_id IS NOT NULL) AND (c.session_version IS NULL OR c.session_version < s.version) "
    "THEN 0 ELSE 1 END AS u_rank, -s.activity_us AS neg FROM session_summaries s "
    "LEFT JOIN session_read_cursors c ON c.session_id = s.session_id AND c.reader_id = ?) q "
    "WHERE (a_rank = 0 OR u_rank = 0) ORDER BY a_rank, u_rank, neg, session_id LIMIT 51"
)


def create_session(c: Container, i: int) -> str:
    run = c.runs.create(
        SYSTEM, tenant_id="tenant-a", project_id="bench", backend_profile="codex",
        session_ref={"sessionId": f"s-{i:07d}"}, resource_bundle_ref=None,
    )  # fmt: skip
    return str(run["id"])


def turn_or_cancel(c: Container, i: int, run_id: str) -> None:
    if i % 10 == 1:
        payload = {"prompt": f"p{i}"}
        c.commands.create(SYSTEM, run_id, command_type="turn", payload=payload, idempotency_key=None)
    elif i % 10 == 0:
        c.runs.cancel(SYSTEM, run_id, "bench")


def mark_read(c: Container, ids: list[int]) -> None:
    """Reader r1 reads these sessions, saved together (the use case would wait for the views each time)."""
    sessions = [c.log.get(session_aggregate_id(f"s-{i:07d}")) for i in ids]
    now = datetime.now(UTC)
    for session in sessions:
        session.mark_read("r1", now)
    c.log.save(*sessions)


def long_run(c: Container, events: int) -> str:
    run = c.runs.create(
        SYSTEM, tenant_id="tenant-a", project_id="bench", backend_profile="codex",
        session_ref={"sessionId": f"long-{events}"}, resource_bundle_ref=None,
    )  # fmt: skip
    epoch = c.runs.claim(SYSTEM, run["id"], "bench-runner", 3_600_000)["claimEpoch"]
    for start in range(0, events, 500):
        batch = [
            {"type": "usage", "payload": {"i": i}, "claimEpoch": epoch} for i in range(start, start + 500)
        ]
        c.run_events.append(SYSTEM, run["id"], batch)
    return str(run["id"])


def build(settings: Settings, sessions: int, threads: int) -> dict[str, Any]:
    c = Container(settings)
    c.start()
    try:
        started = time.perf_counter()
        run_ids: list[str] = []
        with ThreadPoolExecutor(threads) as pool:
            for done, run_id in enumerate(pool.map(lambda i: create_session(c, i), range(sessions)), 1):
                run_ids.append(run_id)
                if done % 10_000 == 0:
                    print(f"  {done} sessions, {done / (time.perf_counter() - started):.0f}/s", flush=True)
            list(pool.map(lambda i: turn_or_cancel(c, i, run_ids[i]), range(sessions)))
            readers = [i for i in range(sessions) if i % 5 == 2]
            list(pool.map(lambda k: mark_read(c, readers[k : k + 100]), range(0, len(readers), 100)))
        runs = {n: long_run(c, n) for n in (1_000, 20_000)}
        c.runner.catch_up()
        with c.db.read() as cur:
            row = cur.execute("SELECT version FROM session_summaries ORDER BY version DESC LIMIT 1 OFFSET 50")
            since = row.fetchone()["version"]
        print(f"built {sessions} sessions in {time.perf_counter() - started:.0f} s; head {c.log.head()}")
        return {"runs": runs, "head": c.log.head(), "since": since}
    finally:
        c.close()


def measure(name: str, request: Callable[[], httpx.Response], n: int = REQUESTS) -> list[float]:
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        response = request()
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, (name, response.status_code, response.text[:200])
    report(name, latencies)
    return latencies


def report(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    print(f"{name:<58} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms   (n={len(ordered)})", flush=True)


@contextmanager
def server_of(backend: str, data_dir: Path, url: str | None) -> Iterator[Any]:
    from tests.support.server import Server

    server = Server(backend, data_dir, database_url=url, pool_size=None).start(timeout=120)
    try:
        yield server
    finally:
        server.stop()


def pages(http: httpx.Client) -> list[float]:
    """Pages 2..21 of the default list by nextCursor, repeated until 300 are measured."""
    latencies: list[float] = []
    while len(latencies) < REQUESTS:
        cursor = http.get("/sessions", params={"state": "default", "limit": 50}).json()["nextCursor"]
        for _ in range(2, PAGES + 1):
            started = time.perf_counter()
            response = http.get("/sessions", params={"state": "default", "limit": 50, "cursor": cursor})
            latencies.append(time.perf_counter() - started)
            cursor = response.json()["nextCursor"]
            if cursor is None or len(latencies) >= REQUESTS:
                break
    report("GET /sessions default, pages 2-21 by nextCursor", latencies)
    return latencies


def views_of(settings: Settings) -> Database:
    if settings.database_url:
        return PostgresDatabase(settings.database_url, 2)
    return SqliteDatabase(settings.data_dir / "views.sqlite3")


def baseline(settings: Settings, seconds: float = 30.0) -> list[float]:
    """The previous list query on the same views, in process (no HTTP: the baseline is favoured)."""
    db = views_of(settings)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    try:
        while len(latencies) < REQUESTS and time.perf_counter() < deadline:
            with db.read() as cur:
                started = time.perf_counter()
                cur.execute(BASELINE, ("r1",)).fetchall()
                latencies.append(time.perf_counter() - started)
    finally:
        db.close()
    report("baseline: previous query, plain ORDER BY (in process)", latencies)
    return latencies


def run_reads(settings: Settings, backend: str, data: dict[str, Any], synthetic: int, restarts: int) -> None:
    if synthetic:
        db = views_of(settings)
        fill_synthetic(db, synthetic)
        db.close()
        print(f"added {synthetic} synthetic session rows")
    from tests.support.server import token_of

    headers = {"Authorization": f"Bearer {token_of('admin')}"}
    run_1k, run_20k = data["runs"][1_000], data["runs"][20_000]
    with server_of(backend, settings.data_dir, settings.database_url) as server:
        with httpx.Client(base_url=server.base_url + "/api/v1", headers=headers, timeout=60) as http:
            http.get("/sessions", params={"minPosition": data["head"]}).raise_for_status()
            first = measure(
                "GET /sessions?state=default&limit=50 (first page)",
                lambda: http.get("/sessions", params={"state": "default", "limit": 50}),
            )
            pages(http)
            measure(
                "GET /sessions?state=unread&readerId=r1",
                lambda: http.get("/sessions", params={"state": "unread", "readerId": "r1"}),
            )
            measure(
                "GET /sessions?state=all&readerId=r1",
                lambda: http.get("/sessions", params={"state": "all", "readerId": "r1"}),
            )
            since = data["since"]
            measure(
                "GET /sessions?changedSince=V (50 newer)",
                lambda: http.get("/sessions", params={"changedSince": since}),
            )
            measure("GET /runs/{id} (1,000-event run)", lambda: http.get(f"/runs/{run_1k}"))
            measure("GET /runs/{id} (20,000-event run)", lambda: http.get(f"/runs/{run_20k}"))
            measure(
                "GET /runs/{id}/events?afterSeq=900&limit=100 (1,000 events)",
                lambda: http.get(f"/runs/{run_1k}/events", params={"afterSeq": 900, "limit": 100}),
            )
            measure(
                "GET /runs/{id}/events?afterSeq=19900&limit=100 (20,000)",
                lambda: http.get(f"/runs/{run_20k}/events", params={"afterSeq": 19_900, "limit": 100}),
            )
        cold: list[float] = []
        for _ in range(restarts):
            server.restart()
            with httpx.Client(base_url=server.base_url + "/api/v1", headers=headers, timeout=60) as http:
                http.get("/healthz")
                started = time.perf_counter()
                http.get(f"/runs/{run_20k}").raise_for_status()
                cold.append(time.perf_counter() - started)
        print("first GET /runs/{id} of the 20,000-event run after a restart: "
              + ", ".join(f"{s * 1000:.1f} ms" for s in cold))  # fmt: skip
    base = baseline(settings)
    ratio = statistics.median(first) / statistics.median(base)
    print(f"ratio agentrun / baseline: {ratio:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--synthetic", type=int, default=0, help="extra session rows written into the view")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        if args.backend == "sqlite":
            settings = Settings(AGENTRUN_DATA_DIR=Path(data_dir), AGENTRUN_AUTH="disabled")  # type: ignore[call-arg]
            data = build(settings, args.sessions, args.threads)
            run_reads(settings, "sqlite", data, args.synthetic, args.restarts)
            return 0
        with throwaway_database(args.database_url) as url:
            dirs = {"AGENTRUN_DATA_DIR": Path(data_dir), "AGENTRUN_AUTH": "disabled"}
            settings = Settings(DATABASE_URL=url, **dirs)  # type: ignore[call-arg,arg-type]
            data = build(settings, args.sessions, args.threads)
            run_reads(settings, "postgres", data, args.synthetic, args.restarts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
