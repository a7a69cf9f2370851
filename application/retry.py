"""Retrying a use case that lost a compare-and-set race where the use case allows it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from domain.errors import AgentRunError, ConcurrencyError

T = TypeVar("T")
MAX_ATTEMPTS = 50


def retry_on_conflict(attempt: Callable[[], T], attempts: int = MAX_ATTEMPTS) -> T:
    """Run `attempt` (which reloads what it changes) until it saves without a version conflict."""
    for n in range(attempts):
        try:
            return attempt()
        except ConcurrencyError:
            if n == attempts - 1:
                raise
            time.sleep(random.uniform(0, 0.002 * (n + 1)))
    raise AssertionError("unreachable")


def decide_remembered(attempt: Callable[[bool], T], attempts: int = MAX_ATTEMPTS) -> T:
    """Run `attempt(remembered)` first on this replica's memory of what it changes, without a read.

    Memory may be stale, so it may only win a compare-and-set, never decide an outcome: a rejection
    or a lost race decided on it is decided again on fresh loads (`attempt(False)`).
    """
    try:
        return attempt(True)
    except (ConcurrencyError, AgentRunError):
        pass
    return retry_on_conflict(lambda: attempt(False), attempts)
