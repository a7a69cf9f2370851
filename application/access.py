"""Who may do what: principals, roles, permissions and tenant scoping."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from application.errors import ForbiddenError, NotFoundError

ALL_TENANTS = "*"

READ = "read"
RUN_CREATE = "run:create"
RUN_OPERATE = "run:operate"  # claim, heartbeat, finish, append events
RUN_CANCEL = "run:cancel"
COMMAND_CREATE = "command:create"
COMMAND_OPERATE = "command:operate"  # acknowledge, finish
COMMAND_CANCEL = "command:cancel"
RUNNER_REGISTER = "runner:register"
RUNNER_JOB_WRITE = "runner-job:write"
SESSION_MARK_READ = "session:mark-read"
INFERENCE_CREATE = "inference:create"
WORKER = "worker"  # register, heartbeat, bind the channel, post chunks and results
SEES_ALL_INFERENCE = frozenset({"admin", "operator", "auditor"})
QUEUE_CREATE = "queue:create"
QUEUE_ADMIN = "queue:admin"  # cancel queue tasks
QUEUE_ATTEMPT = "queue:attempt"  # record what an attempt at a queue task did
QUEUE_MARK_READ = "queue:mark-read"
BACKEND_RESOLVE = "backend:resolve"  # record the backend a run is served by

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "operator": frozenset(
        {READ, RUN_CANCEL, COMMAND_CANCEL, SESSION_MARK_READ, QUEUE_ADMIN, QUEUE_MARK_READ}
    ),
    "client": frozenset(
        {READ, RUN_CREATE, COMMAND_CREATE, SESSION_MARK_READ}
        | {"inference:create", QUEUE_CREATE, QUEUE_MARK_READ}
    ),
    "runner": frozenset(
        {READ, RUN_OPERATE, COMMAND_OPERATE, RUNNER_REGISTER, RUNNER_JOB_WRITE}
        | {QUEUE_ATTEMPT, BACKEND_RESOLVE}
    ),
    "worker": frozenset({"worker", BACKEND_RESOLVE}),
    "auditor": frozenset({READ, "audit", "events"}),
}
ROLES = ("admin", *ROLE_PERMISSIONS)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its name, roles and the tenants it may see (`*` for all)."""

    name: str
    roles: frozenset[str]
    tenants: frozenset[str]

    @classmethod
    def of(cls, name: str, roles: Iterable[str], tenants: Iterable[str]) -> Principal:
        return cls(name=name, roles=frozenset(roles), tenants=frozenset(tenants))

    @property
    def all_tenants(self) -> bool:
        return ALL_TENANTS in self.tenants

    def can(self, permission: str) -> bool:
        if "admin" in self.roles:
            return True
        return any(permission in ROLE_PERMISSIONS.get(role, ()) for role in self.roles)

    def sees(self, tenant_id: str) -> bool:
        return self.all_tenants or tenant_id in self.tenants

    def tenant_filter(self) -> list[str] | None:
        """The tenants a query must be limited to, or None for all."""
        return None if self.all_tenants else sorted(self.tenants)

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise ForbiddenError(f"principal {self.name!r} may not {permission}", permission=permission)

    def require_tenant_write(self, tenant_id: str) -> None:
        """Creating in a tenant outside the token's tenants is forbidden."""
        if not self.sees(tenant_id):
            raise ForbiddenError(f"principal {self.name!r} has no access to tenant {tenant_id!r}")


SYSTEM = Principal.of("system", ["admin"], [ALL_TENANTS])


def check_visible(principal: Principal, tenant_id: str, what: str, ident: str) -> None:
    """A resource of a tenant the principal cannot see does not exist for it."""
    if not principal.sees(tenant_id):
        raise NotFoundError(f"{what} {ident} was not found")
