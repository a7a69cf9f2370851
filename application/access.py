"""Who may do what: principals, roles, permissions and tenant scoping."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from application.errors import ForbiddenError, NotFoundError

ALL_TENANTS = "*"

# Each permission is one row (or half a row) of CONTRACT.md "Who may do what".
READ = "read"  # runs, commands, sessions, queue tasks, stats, backends, projections
RUN_CREATE = "run:create"
RUN_OPERATE = "run:operate"  # claim, heartbeat, finish, append events
RUN_CANCEL = "run:cancel"
COMMAND_CREATE = "command:create"
COMMAND_OPERATE = "command:operate"  # acknowledge, finish
COMMAND_CANCEL = "command:cancel"
RUNNER_REGISTER = "runner:register"
RUNNER_JOB_WRITE = "runner-job:write"
SESSION_MARK_READ = "session:mark-read"
QUEUE_CREATE = "queue:create"
QUEUE_CANCEL = "queue:cancel"
QUEUE_ATTEMPT = "queue:attempt"  # record what an attempt at a queue task did
QUEUE_MARK_READ = "queue:mark-read"
BACKEND_RESOLVE = "backend:resolve"  # record the backend a run is served by
INFERENCE_CREATE = "inference:create"
INFERENCE_READ_OWN = "inference:read-own"  # the tasks the principal enqueued
INFERENCE_READ_ALL = "inference:read-all"
INFERENCE_CANCEL_OWN = "inference:cancel-own"
INFERENCE_CANCEL_ALL = "inference:cancel-all"
WORKER = "worker:operate"  # register, heartbeat, bind the channel, state, chunks, results, wakes
WORKER_READ = "worker:read"  # GET /workers, /workers/{id}
LLM_READ = "llm:read"  # GET /llms, /v1/models
EVENTS = "events"  # the event log and its tail
AUDIT = "audit"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "client": frozenset(
        {READ, RUN_CREATE, COMMAND_CREATE, QUEUE_CREATE, INFERENCE_CREATE}
        | {RUN_CANCEL, COMMAND_CANCEL, QUEUE_CANCEL, INFERENCE_CANCEL_OWN, INFERENCE_READ_OWN}
        | {SESSION_MARK_READ, QUEUE_MARK_READ, LLM_READ}
    ),
    "operator": frozenset(
        {READ, RUN_CANCEL, COMMAND_CANCEL, QUEUE_CANCEL, INFERENCE_CANCEL_ALL}
        | {SESSION_MARK_READ, QUEUE_MARK_READ, QUEUE_ATTEMPT}
        | {LLM_READ, WORKER_READ, INFERENCE_READ_ALL}
    ),
    "runner": frozenset(
        {READ, RUN_OPERATE, COMMAND_OPERATE, RUNNER_REGISTER, RUNNER_JOB_WRITE}
        | {QUEUE_ATTEMPT, BACKEND_RESOLVE}
    ),
    "worker": frozenset({WORKER, BACKEND_RESOLVE}),
    "auditor": frozenset({READ, LLM_READ, WORKER_READ, INFERENCE_READ_ALL, EVENTS, AUDIT}),
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


def check_owner(principal: Principal, owned: bool, what: str, ident: str) -> None:
    """Another principal's worker does not exist for this one, whatever its roles."""
    if not owned:
        raise NotFoundError(f"{what} {ident} was not found")
