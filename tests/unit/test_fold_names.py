"""Every fold names a real event: a renamed or misspelt `@handles("…")` would be skipped in silence."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import domain
import projections
from domain.base import DomainEvent
from projections.base import Projection


def modules_of(package: ModuleType) -> list[ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(package.__path__)]
    return [importlib.import_module(f"{package.__name__}.{name}") for name in names]


def event_names() -> set[str]:
    """The `__qualname__` of every event class the domain defines (`Run.Claimed`, ...)."""
    names: set[str] = set()

    def walk(cls: type) -> None:
        for member in vars(cls).values():
            if isinstance(member, type) and member.__qualname__.startswith(cls.__qualname__ + "."):
                if issubclass(member, DomainEvent):
                    names.add(member.__qualname__)
                walk(member)

    for module in modules_of(domain):
        for member in vars(module).values():
            if isinstance(member, type) and member.__module__ == module.__name__:
                walk(member)
    return names


def projection_classes() -> list[type[Projection]]:
    modules_of(projections)
    found: list[type[Projection]] = []
    todo = list(Projection.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_the_domain_defines_the_events_the_folds_are_checked_against() -> None:
    names = event_names()
    assert {"Run.Created", "Run.Claimed", "Session.Created", "QueueTask.Created"} <= names


def test_every_fold_names_an_event_class_of_the_domain() -> None:
    names = event_names()
    classes = projection_classes()
    assert len(classes) >= 7, [c.__name__ for c in classes]
    unknown = {
        f"{cls.__module__}.{cls.__name__}: {event}"
        for cls in classes
        for event in cls._handlers
        if event not in names
    }
    assert not unknown, f"folds of events no domain class is named: {sorted(unknown)}"
