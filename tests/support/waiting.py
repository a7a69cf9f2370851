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
    """`agentrun_inference_waiters` from /metrics: long-polls and task streams being served now."""
    text = httpx.get(server.base_url + "/metrics", timeout=10).text
    match = re.search(r"^agentrun_inference_waiters (\S+)$", text, re.MULTILINE)
    assert match is not None, "the waiter gauge is missing from /metrics"
    return int(float(match.group(1)))


def wait_for_waiters(server: Server, at_least: int, timeout: float = 10.0) -> None:
    """Return once the server has at least `at_least` waiters parked (subscribed, counted)."""
    assert wait_for(lambda: waiters_gauge(server) >= at_least, timeout), (
        f"expected {at_least} parked waiters, the gauge says {waiters_gauge(server)}"
    )
