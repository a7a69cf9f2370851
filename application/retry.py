"""Retrying a use case that lost a compare-and-set race where the use case allows it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from domain.errors import ConcurrencyError

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
