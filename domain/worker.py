"""The Worker aggregate: a process next to GPU backends, its LLMs, its channel binding and its state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.base import Aggregate
from domain.merge_patch import merge_state

STATE_KEYS = ("workerStatus", "externalMetadata", "internalMetadata")


def worker_aggregate_id(worker_id: str) -> str:
    """Worker ids may be chosen by workers, so they live in their own namespace of the log."""
    return f"worker:{worker_id}"


def wake_aggregate_id(wake_id: str) -> str:
    return f"wake:{wake_id}"


def pool_key(provider: dict[str, Any]) -> str:
    """Tasks are routed by pool: `poolName ?? name`."""
    return str(provider.get("poolName") or provider["name"])


class Worker(Aggregate):
    """Registered providers (LLMs), liveness, the bound channel, wakes, and merged state."""

    class Registered(Aggregate.Created):
        worker_id: str
        providers: list[dict[str, Any]]
        # The registering principal; events stored before ownership have none (a legacy worker).
        owner: str | None = None

    @classmethod
    def register(
        cls, worker_id: str, providers: list[dict[str, Any]], now: datetime, owner: str | None = None
    ) -> Worker:
        return cls._create(
            cls.Registered,
            id=worker_aggregate_id(worker_id),
            timestamp=now,
            worker_id=worker_id,
            providers=providers,
            owner=owner,
        )

    def __init__(self, worker_id: str, providers: list[dict[str, Any]], owner: str | None = None) -> None:
        self.worker_id = worker_id
        self.providers = providers
        self.owner = owner
        self.active = True
        self.channel_id: str | None = None
        self.state: dict[str, Any] = {}
        self.open_wakes: dict[str, str] = {}  # llm name -> wake id

    @property
    def bound(self) -> bool:
        return self.channel_id is not None

    @property
    def pools(self) -> list[str]:
        return sorted({pool_key(p) for p in self.providers})

    def provider(self, llm_name: str) -> dict[str, Any] | None:
        return next((p for p in self.providers if p["name"] == llm_name), None)

    def owned_by(self, principal_name: str) -> bool:
        """Only the registering principal may act as this worker; a legacy worker is nobody's yet."""
        return self.owner is not None and self.owner == principal_name

    def llm_status(self, provider: dict[str, Any]) -> str:
        if not self.active:
            return "inactive"
        return "hibernating" if provider.get("hibernating") else "active"

    class Reregistered(Aggregate.Event):
        providers: list[dict[str, Any]]
        owner: str | None = None  # set when a legacy worker is claimed by its first re-registration

        def apply(self, worker: Worker) -> None:
            worker.providers = self.providers
            worker.active = True
            if worker.owner is None and self.owner is not None:
                worker.owner = self.owner

    def reregister(self, providers: list[dict[str, Any]], now: datetime, owner: str | None = None) -> bool:
        """A sticky reconnect: the same worker id again; recorded only when something changed.

        The caller checks ownership first; a legacy worker (no owner) becomes `owner`'s here.
        """
        claim = owner if self.owner is None else None
        if providers == self.providers and self.active and claim is None:
            return False
        self._trigger(self.Reregistered, now, providers=providers, owner=claim)
        return True

    # -- liveness and the channel ------------------------------------------------------

    class Bound(Aggregate.Event):
        channel_id: str

        def apply(self, worker: Worker) -> None:
            worker.channel_id = self.channel_id
            worker.active = True

    def bind(self, channel_id: str, now: datetime) -> None:
        self._trigger(self.Bound, now, channel_id=channel_id)

    class Unbound(Aggregate.Event):
        channel_id: str
        reason: str

        def apply(self, worker: Worker) -> None:
            worker.channel_id = None

    def unbind(self, channel_id: str | None, reason: str, now: datetime) -> bool:
        """Unbind the current channel (or only `channel_id`, when given); False if it is not bound."""
        if self.channel_id is None or (channel_id is not None and channel_id != self.channel_id):
            return False
        self._trigger(self.Unbound, now, channel_id=self.channel_id, reason=reason)
        return True

    class WentInactive(Aggregate.Event):
        last_heartbeat_at: str | None

        def apply(self, worker: Worker) -> None:
            worker.active = False

    def go_inactive(self, last_heartbeat_at: str | None, now: datetime) -> bool:
        if not self.active:
            return False
        self._trigger(self.WentInactive, now, last_heartbeat_at=last_heartbeat_at)
        return True

    class Reactivated(Aggregate.Event):
        def apply(self, worker: Worker) -> None:
            worker.active = True

    def reactivate(self, now: datetime) -> bool:
        if self.active:
            return False
        self._trigger(self.Reactivated, now)
        return True

    # -- state ------------------------------------------------------------------------

    class StateUpdated(Aggregate.Event):
        patch: dict[str, Any]

        def apply(self, worker: Worker) -> None:
            worker.state = merge_state(worker.state, self.patch)

    def update_state(self, patch: dict[str, Any], now: datetime) -> None:
        self._trigger(self.StateUpdated, now, patch=patch)

    # -- wakes of hibernating LLMs -----------------------------------------------------

    class WakeRequested(Aggregate.Event):
        wake_id: str
        llm_name: str

        def apply(self, worker: Worker) -> None:
            worker.open_wakes[self.llm_name] = self.wake_id

    def request_wake(self, wake_id: str, llm_name: str, now: datetime) -> str | None:
        """The open wake of the LLM, shared by concurrent requests, or a new one; None when awake.

        One hibernation episode asks once: a request that arrives after an ok answer (its caller read
        a view that had not yet seen the answer) finds the LLM awake here and asks nothing.
        """
        if llm_name in self.open_wakes:
            return self.open_wakes[llm_name]
        provider = self.provider(llm_name)
        if provider is None or not provider.get("hibernating"):
            return None
        self._trigger(self.WakeRequested, now, wake_id=wake_id, llm_name=llm_name)
        return wake_id

    class WakeAnswered(Aggregate.Event):
        wake_id: str
        llm_name: str
        ok: bool
        error: str | None

        def apply(self, worker: Worker) -> None:
            if worker.open_wakes.get(self.llm_name) == self.wake_id:
                del worker.open_wakes[self.llm_name]
            if self.ok:
                worker.providers = [
                    {**p, "hibernating": False} if p["name"] == self.llm_name else p for p in worker.providers
                ]

    def answer_wake(self, wake_id: str, llm_name: str, ok: bool, error: str | None, now: datetime) -> bool:
        if self.open_wakes.get(llm_name) != wake_id:
            return False
        self._trigger(self.WakeAnswered, now, wake_id=wake_id, llm_name=llm_name, ok=ok, error=error)
        return True


class Wake(Aggregate):
    """Which worker and LLM a wake id belongs to, so any replica can take its answer."""

    class Requested(Aggregate.Created):
        worker_id: str
        llm_name: str

    @classmethod
    def request(cls, wake_id: str, worker_id: str, llm_name: str, now: datetime) -> Wake:
        return cls._create(
            cls.Requested,
            id=wake_aggregate_id(wake_id),
            timestamp=now,
            worker_id=worker_id,
            llm_name=llm_name,
        )

    def __init__(self, worker_id: str, llm_name: str) -> None:
        self.worker_id = worker_id
        self.llm_name = llm_name
