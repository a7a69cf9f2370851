"""Synchronise on what the server reports, not on sleeps: polling a condition, the waiter gauge."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx

from tests.support.server import Server


def wait_for(check: Callable[[], object], timeout: float = 10.0, every: float = 0.02) -> bool:
    """True as soon as `check()` is truthy; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False


def waiters_gauge(server: Server) -> int:
    """`agentrun_inference_waiters` from /metrics: long-polls and task streams being served now.

    A `serve --workers N` server answers from whichever process accepts the connection: scrape on
    fresh connections until every process has answered, and add theirs up.
    """
    seen: dict[str, int] = {}
    deadline = time.monotonic() + 10
    while len(seen) < server.workers and time.monotonic() < deadline:
        text = httpx.get(server.base_url + "/metrics", timeout=10).text  # a new connection each time
        gauge = re.search(r"^agentrun_inference_waiters (\S+)$", text, re.MULTILINE)
        pid = re.search(r'^agentrun_process\{pid="([^"]+)"', text, re.MULTILINE)
        assert gauge is not None and pid is not None, "the waiter gauge is missing from /metrics"
        seen[pid.group(1)] = int(float(gauge.group(1)))
    assert len(seen) == server.workers, f"only {len(seen)} of {server.workers} processes answered"
    return sum(seen.values())


def wait_for_waiters(server: Server, at_least: int, timeout: float = 10.0) -> None:
    """Return once the server has at least `at_least` waiters parked (subscribed, counted)."""
    assert wait_for(lambda: waiters_gauge(server) >= at_least, timeout), (
        f"expected {at_least} parked waiters, the gauge says {waiters_gauge(server)}"
    )
