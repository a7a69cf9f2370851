"""Principals: what each role may do, and which tenants a principal sees."""

from __future__ import annotations

import pytest

from application import access
from application.access import (
    ALL_TENANTS,
    ROLE_PERMISSIONS,
    ROLES,
    SYSTEM,
    Principal,
    check_visible,
)
from application.errors import ForbiddenError, NotFoundError

EVERY_PERMISSION = sorted(set().union(*ROLE_PERMISSIONS.values()))


def principal(*roles: str, tenants: tuple[str, ...] = ("acme",)) -> Principal:
    return Principal.of("alice", roles, tenants)


def test_the_roles_are_those_of_the_contract() -> None:
    assert set(ROLES) == {"admin", "operator", "client", "runner", "worker", "auditor"}


@pytest.mark.parametrize("permission", EVERY_PERMISSION)
def test_an_admin_may_do_everything(permission: str) -> None:
    assert principal("admin").can(permission)


def test_an_admin_may_do_even_what_no_role_lists() -> None:
    assert principal("admin").can("anything:new")


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (
            "client",
            [access.READ, access.RUN_CREATE, access.COMMAND_CREATE, access.SESSION_MARK_READ],
            [access.RUN_OPERATE, access.RUN_CANCEL, access.COMMAND_OPERATE],
        ),
        (
            "runner",
            [
                access.READ,
                access.RUN_OPERATE,
                access.COMMAND_OPERATE,
                access.RUNNER_REGISTER,
                access.RUNNER_JOB_WRITE,
            ],
            [access.RUN_CREATE, access.RUN_CANCEL, access.COMMAND_CREATE],
        ),
        (
            "operator",
            [access.READ, access.RUN_CANCEL, access.COMMAND_CANCEL, access.SESSION_MARK_READ],
            [access.RUN_CREATE, access.RUN_OPERATE, access.COMMAND_CREATE],
        ),
        (
            "auditor",
            [access.READ, "audit", "events"],
            [access.RUN_CREATE, access.RUN_CANCEL, access.RUN_OPERATE, access.SESSION_MARK_READ],
        ),
        ("worker", ["worker"], [access.READ, access.RUN_CREATE, access.RUN_OPERATE]),
    ],
)
def test_each_role_may_do_what_the_contract_gives_it_and_no_more(
    role: str, allowed: list[str], denied: list[str]
) -> None:
    who = principal(role)

    assert all(who.can(p) for p in allowed)
    assert not any(who.can(p) for p in denied)


def test_roles_add_up() -> None:
    who = principal("client", "runner")

    assert who.can(access.RUN_CREATE)
    assert who.can(access.RUN_OPERATE)
    assert not who.can(access.RUN_CANCEL)


def test_an_unknown_role_grants_nothing() -> None:
    assert not principal("janitor").can(access.READ)


def test_require_raises_forbidden_naming_the_permission() -> None:
    with pytest.raises(ForbiddenError) as raised:
        principal("auditor").require(access.RUN_CREATE)

    assert raised.value.kind == "forbidden"
    assert raised.value.details == {"permission": access.RUN_CREATE}


def test_require_passes_silently_when_allowed() -> None:
    principal("client").require(access.RUN_CREATE)


def test_a_principal_sees_only_its_tenants() -> None:
    who = principal("client", tenants=("acme", "globex"))

    assert who.sees("acme")
    assert who.sees("globex")
    assert not who.sees("initech")
    assert not who.all_tenants
    assert who.tenant_filter() == ["acme", "globex"]


def test_the_wildcard_tenant_sees_every_tenant_and_filters_nothing() -> None:
    who = principal("auditor", tenants=(ALL_TENANTS,))

    assert who.all_tenants
    assert who.sees("anyone")
    assert who.tenant_filter() is None


def test_admin_role_does_not_widen_the_tenants() -> None:
    assert not principal("admin", tenants=("acme",)).sees("globex")


def test_a_principal_without_tenants_sees_nothing() -> None:
    who = principal("client", tenants=())

    assert not who.sees("acme")
    assert who.tenant_filter() == []


def test_creating_in_a_foreign_tenant_is_forbidden() -> None:
    principal("client").require_tenant_write("acme")

    with pytest.raises(ForbiddenError):
        principal("client").require_tenant_write("globex")


def test_a_resource_of_an_invisible_tenant_is_not_found() -> None:
    check_visible(principal("client"), "acme", "run", "run_1")

    with pytest.raises(NotFoundError) as raised:
        check_visible(principal("client"), "globex", "run", "run_1")

    assert raised.value.kind == "not-found"
    assert "globex" not in raised.value.message


def test_the_system_principal_is_an_admin_of_every_tenant() -> None:
    assert SYSTEM.all_tenants
    assert all(SYSTEM.can(p) for p in EVERY_PERMISSION)


def test_principals_are_values() -> None:
    assert Principal.of("a", ["client"], ["x"]) == Principal.of("a", ("client",), {"x"})
    assert hash(Principal.of("a", ["client"], ["x"])) == hash(Principal.of("a", ["client"], ["x"]))
