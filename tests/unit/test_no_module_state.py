"""No module of the five packages keeps process-wide mutable state: a process's state lives in its
container (`interfaces/bootstrap.py`), so two containers in one process never share a limiter, a
registry or a setting (ADR 0039)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "projections", "application", "infrastructure", "interfaces")
# Objects that hold state between calls: created at import time they are shared by every container.
STATEFUL = {
    "CapacityLimiter",
    "Semaphore",
    "BoundedSemaphore",
    "Lock",
    "RLock",
    "Event",
    "Condition",
    "WeakKeyDictionary",
    "WeakValueDictionary",
    "WeakSet",
    "defaultdict",
    "OrderedDict",
    "deque",
    "dict",
    "list",
    "set",
}


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _called_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return None


def _module_level_state(tree: ast.Module) -> list[str]:
    found = []
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if value is None:
            continue
        empty = isinstance(value, ast.Dict | ast.List | ast.Set) and not getattr(
            value, "keys" if isinstance(value, ast.Dict) else "elts"
        )
        if empty or _called_name(value) in STATEFUL:
            found.append(f"line {node.lineno}: {ast.unparse(node).splitlines()[0]}")
    return found


def test_no_module_holds_mutable_state_of_its_own() -> None:
    found = {}
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        globals_ = [f"line {n.lineno}: global" for n in ast.walk(tree) if isinstance(n, ast.Global)]
        if problems := globals_ + _module_level_state(tree):
            found[str(path.relative_to(ROOT))] = problems
    assert found == {}


def test_the_check_sees_a_module_level_registry_and_limiter() -> None:
    source = "import anyio\n_hubs = {}\nLIMIT = anyio.CapacityLimiter(4)\nNAMES = {'a': 1}\n"
    assert [line.split(":")[0] for line in _module_level_state(ast.parse(source))] == ["line 2", "line 3"]
