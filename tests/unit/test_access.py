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
    check_owner,
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


# CONTRACT.md "Who may do what", row by row: the roles (besides admin) that hold each permission.
CONTRACT_TABLE: dict[str, set[str]] = {
    access.READ: {"client", "operator", "runner", "auditor"},
    access.RUN_CREATE: {"client"},
    access.COMMAND_CREATE: {"client"},
    access.QUEUE_CREATE: {"client"},
    access.INFERENCE_CREATE: {"client"},
    access.INFERENCE_READ_OWN: {"client"},
    access.RUN_CANCEL: {"client", "operator"},
    access.COMMAND_CANCEL: {"client", "operator"},
    access.QUEUE_CANCEL: {"client", "operator"},
    access.INFERENCE_CANCEL_OWN: {"client"},
    access.INFERENCE_CANCEL_ALL: {"operator"},
    access.SESSION_MARK_READ: {"client", "operator"},
    access.QUEUE_MARK_READ: {"client", "operator"},
    access.RUN_OPERATE: {"runner"},
    access.COMMAND_OPERATE: {"runner"},
    access.RUNNER_REGISTER: {"runner"},
    access.RUNNER_JOB_WRITE: {"runner"},
    access.QUEUE_ATTEMPT: {"operator", "runner"},
    access.BACKEND_RESOLVE: {"runner", "worker"},
    access.WORKER: {"worker"},
    access.LLM_READ: {"client", "operator", "auditor"},
    access.WORKER_READ: {"operator", "auditor"},
    access.INFERENCE_READ_ALL: {"operator", "auditor"},
    access.EVENTS: {"auditor"},
    access.AUDIT: {"auditor"},
}


def test_the_table_names_every_permission_a_role_holds() -> None:
    assert set(CONTRACT_TABLE) == set(EVERY_PERMISSION)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
@pytest.mark.parametrize("permission", sorted(CONTRACT_TABLE))
def test_each_role_holds_exactly_the_permissions_of_the_contract_table(role: str, permission: str) -> None:
    assert principal(role).can(permission) is (role in CONTRACT_TABLE[permission])


def test_roles_add_up() -> None:
    who = principal("client", "runner")

    assert who.can(access.RUN_CREATE)
    assert who.can(access.RUN_OPERATE)
    assert not who.can(access.EVENTS)


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


def test_another_principals_worker_is_not_found_whatever_the_roles() -> None:
    check_owner(principal("worker"), True, "worker", "wrk_1")

    with pytest.raises(NotFoundError) as raised:
        check_owner(principal("admin", tenants=(ALL_TENANTS,)), False, "worker", "wrk_1")

    assert raised.value.kind == "not-found"
