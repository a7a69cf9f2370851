"""The container declares everything a process holds, and nothing is added to it from outside (ADR 0039)."""

from __future__ import annotations

from interfaces.bootstrap import Container
from interfaces.http.app import create_app


def test_the_container_holds_exactly_what_it_declares_even_under_an_app(container: Container) -> None:
    declared = set(Container.__annotations__)
    assert set(vars(container)) == declared
    create_app(container)  # an app uses the container's HTTP state; it adds no attribute of its own
    assert set(vars(container)) == declared
    assert container.openapi["paths"]
