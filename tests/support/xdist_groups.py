"""`--dist loadgroup` that groups again: a file's tests on one worker, a `heavy-*` group's files on one.

pytest-xdist 3.8 tells the scheduler a test's `xdist_group` by appending `@group` to its node id in
the worker; since pytest 9.2 node ids are structured and that write is lost (pytest-xdist issue
#1386, fix pending in PR #1388), so every test was scheduled on its own, as `--dist load` does:
a file's module-scoped servers and datasets were started again on each worker, and after every
test of another file in between. Besides, the markers `tests/conftest.py` adds per file come after
xdist's hook has read them.

This scheduler works from the node id alone, on the controller: the group is the one a file names
in its module-level `pytestmark` (`xdist_group("heavy-a")`), else the file itself. Load it with
`-p tests.support.xdist_groups` beside `--dist loadgroup`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

_GROUP = re.compile(r"""xdist_group\(\s*(?:name\s*=\s*)?["']([^"']+)["']""")


@functools.cache
def _file_group(root: str, path: str) -> str:
    try:
        text = (Path(root) / path).read_text()
    except OSError:
        return path
    found = _GROUP.search(text)
    return found.group(1) if found else path


class FileGroupScheduling(LoadScopeScheduling):
    """Load scope scheduling whose scope is a test file's group, or the file."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self._root = str(config.rootpath)

    def _split_scope(self, nodeid: str) -> str:
        return _file_group(self._root, nodeid.split("::", 1)[0])


@pytest.hookimpl(optionalhook=True)  # without xdist (`-p no:xdist`) the hook does not exist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") == "loadgroup":
        return FileGroupScheduling(config, log)
    return None
