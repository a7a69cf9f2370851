"""Worker use cases: register, heartbeat, bind and unbind the channel, state, wakes, the registry."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Protocol

from application import access
from application.access import Principal
from application.base import UseCases
from application.errors import NotFoundError, UnavailableError
from application.inference_tasks import InferenceTaskUseCases
from application.inference_wire import Bus
from application.retry import retry_on_conflict
from domain.errors import ConflictError
from domain.ids import new_id
from domain.llm_name import LlmName, NameTakenError, llm_name_aggregate_id
from domain.timestamps import iso, micros
from domain.worker import Wake, Worker, wake_aggregate_id, worker_aggregate_id
from projections import worker_queries


class Liveness(Protocol):
    def touch(self, worker_id: str, at_us: int) -> None: ...

    def last(self, worker_id: str) -> int | None: ...


class WorkerUseCases(UseCases):
    reads = ("worker_registry",)

    def __init__(self, *, liveness: Liveness, bus: Bus, tasks: InferenceTaskUseCases, **common: Any):
        super().__init__(**common)
        self.liveness = liveness
        self.bus = bus
        self.tasks = tasks

    def register(
        self, principal: Principal, worker_id: str | None, providers: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """Register (or stickily re-register) a worker; True when it is new."""
        principal.require(access.WORKER)
        worker_id = worker_id or new_id("wrk")
        names = [p["name"] for p in providers]
        if len(set(names)) != len(names):
            raise ConflictError("provider names must be unique", names=names)

        def attempt() -> tuple[Worker, bool]:
            now = self.clock()
            worker = self.store.get(worker_aggregate_id(worker_id))
            created = not isinstance(worker, Worker)
            if not created and worker.owner is not None:
                access.check_owner(principal, worker.owned_by(principal.name), "worker", worker_id)
            # Each name is a compare-and-set on its LlmName, saved with the worker at once.
            names_to_save = [n for n in (self._take_name(name, worker_id, now) for name in names) if n]
            if created:
                worker = Worker.register(worker_id, providers, now, owner=principal.name)
            elif not worker.reregister(providers, now, owner=principal.name):
                if names_to_save:
                    self.store.save(*names_to_save)
                return worker, False
            self.store.save(worker, *names_to_save)
            return worker, created

        worker, created = retry_on_conflict(attempt)
        self.liveness.touch(worker_id, micros(self.clock()))
        return {"workerId": worker_id, "llms": self._llms(worker)}, created

    def _take_name(self, name: str, worker_id: str, now: datetime) -> LlmName | None:
        """The LlmName to save so that `worker_id` owns `name`; None when it already does."""
        llm = self.store.get(llm_name_aggregate_id(name))
        if not isinstance(llm, LlmName):
            self._check_unclaimed_name(name, worker_id)
            return LlmName.claim(name, worker_id, now)
        if llm.worker_id == worker_id:
            return None
        owner = self.store.get(worker_aggregate_id(llm.worker_id))
        serves = isinstance(owner, Worker) and owner.active and owner.provider(name) is not None
        llm.take_over(worker_id, serves, now)
        return llm

    def _check_unclaimed_name(self, name: str, worker_id: str) -> None:
        """A name registered before names were aggregates is known only to the registry view."""
        with self.views.read() as cur:
            row = worker_queries.get_llm(cur, name)
        if row is not None and row["workerId"] != worker_id and row["status"] != "inactive":
            raise NameTakenError(f"llm {name} is served by another active worker", llmName=name)

    def heartbeat(self, principal: Principal, worker_id: str) -> None:
        worker = self.load_owned(principal, worker_id)
        self.liveness.touch(worker_id, micros(self.clock()))
        if not worker.active:

            def attempt() -> None:
                again = self.load_worker(worker_id)
                if again.reactivate(self.clock()):
                    self.store.save(again)

            retry_on_conflict(attempt)

    def load_worker(self, worker_id: str) -> Worker:
        worker = self.store.get(worker_aggregate_id(worker_id))
        if not isinstance(worker, Worker):
            raise NotFoundError(f"worker {worker_id} was not found")
        return worker

    def load_owned(self, principal: Principal, worker_id: str) -> Worker:
        """The worker, for the principal that registered it; not-found for any other."""
        principal.require(access.WORKER)
        worker = self.load_worker(worker_id)
        access.check_owner(principal, worker.owned_by(principal.name), "worker", worker_id)
        return worker

    # -- the channel ------------------------------------------------------------------

    def bind(self, principal: Principal, worker_id: str) -> tuple[str, list[str]]:
        """Bind a new channel of the worker; returns the channel id and the worker's pools."""
        principal.require(access.WORKER)
        channel_id = new_id("chan")

        def attempt() -> list[str]:
            worker = self.load_owned(principal, worker_id)
            worker.bind(channel_id, self.clock())
            self.store.save(worker)
            return worker.pools

        pools = retry_on_conflict(attempt)
        self.liveness.touch(worker_id, micros(self.clock()))
        return channel_id, pools

    def unbind(
        self, worker_id: str, channel_id: str | None, reason: str, held: frozenset[str] = frozenset()
    ) -> int:
        """Unbind the channel and put the tasks it held back in the queue; returns how many went back."""

        def attempt() -> None:
            worker = self.store.get(worker_aggregate_id(worker_id))
            if isinstance(worker, Worker) and worker.unbind(channel_id, reason, self.clock()):
                self.store.save(worker)

        retry_on_conflict(attempt)
        reverted = 0
        for task_id in sorted({*held, *self.tasks.held_by(worker_id)}):
            reverted += self.tasks.revert(task_id, worker_id, channel_id, reason)
        return reverted

    def channel_current(self, worker_id: str, channel_id: str) -> tuple[bool, dict[str, str]]:
        """Whether the channel is still the worker's bound one, and the worker's open wakes."""
        worker = self.load_worker(worker_id)
        return worker.channel_id == channel_id, dict(worker.open_wakes)

    # -- state ------------------------------------------------------------------------

    def update_state(self, principal: Principal, worker_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        principal.require(access.WORKER)

        def attempt() -> int:
            worker = self.load_owned(principal, worker_id)
            worker.update_state(patch, self.clock())
            return max(self.store.save(worker))

        position = retry_on_conflict(attempt)
        return self._view(worker_id, position)

    def get(self, principal: Principal, worker_id: str, min_position: int | None = None) -> dict[str, Any]:
        principal.require(access.WORKER_READ)
        return self._view(worker_id, min_position)

    def _view(self, worker_id: str, min_position: int | None) -> dict[str, Any]:
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            record = worker_queries.get_worker(cur, worker_id)
        if record is None:
            raise NotFoundError(f"worker {worker_id} was not found")
        return self._with_heartbeat(record)

    def list_workers(self, principal: Principal, min_position: int | None) -> list[dict[str, Any]]:
        principal.require(access.WORKER_READ)
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            records = worker_queries.list_workers(cur)
        return [self._with_heartbeat(record) for record in records]

    def _with_heartbeat(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record with its last heartbeat (liveness beside the log, not in it: ADR 0009)."""
        last = self.liveness.last(record["workerId"])
        at = None if last is None else iso(datetime.fromtimestamp(last / 1_000_000, UTC))
        return {**record, "lastHeartbeatAt": at}

    def llms(self, principal: Principal, min_position: int | None) -> list[dict[str, Any]]:
        principal.require(access.LLM_READ)
        self.wait_for_views(min_position)
        with self.views.read() as cur:
            return worker_queries.list_llms(cur)

    # -- wakes ------------------------------------------------------------------------

    def request_wake(self, llm_name: str) -> str | None:
        """Ask the LLM's worker to wake it; concurrent requests share the open wake.

        None when there is nothing to wake: the worker's own record, not the registry view (which
        may not have seen the answer yet), says whether the LLM still hibernates.
        """
        with self.views.read() as cur:
            llm = worker_queries.get_llm(cur, llm_name)
        if llm is None:
            return None
        worker_id = llm["workerId"]

        def attempt() -> str | None:
            now = self.clock()
            worker = self.load_worker(worker_id)
            fresh = new_id("wake")
            wake_id = worker.request_wake(fresh, llm_name, now)
            if wake_id is not None and wake_id == fresh:
                self.store.save(worker, Wake.request(wake_id, worker_id, llm_name, now))
            return wake_id

        return retry_on_conflict(attempt)

    def ensure_awake(self, principal: Principal, llm_name: str, timeout: float = 60.0) -> None:
        """Wake a hibernating LLM and wait for its worker's answer (for the synchronous infer)."""
        principal.require(access.INFERENCE_CREATE)
        with self.views.read() as cur:
            llm = worker_queries.get_llm(cur, llm_name)
        if llm is None or llm["status"] != "hibernating":
            return
        wake_id = self.request_wake(llm_name)
        if wake_id is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            worker = self.load_worker(llm["workerId"])
            if wake_id not in worker.open_wakes.values():
                provider = worker.provider(llm_name)
                if provider is not None and not provider.get("hibernating"):
                    return
                raise UnavailableError(f"llm {llm_name} did not wake", llmName=llm_name)
            time.sleep(0.05)
        raise UnavailableError(f"llm {llm_name} did not wake in time", llmName=llm_name)

    def answer_wake(self, principal: Principal, wake_id: str, ok: bool, error: str | None) -> dict[str, Any]:
        principal.require(access.WORKER)
        wake = self.store.get(wake_aggregate_id(wake_id))
        if not isinstance(wake, Wake):
            raise NotFoundError(f"wake {wake_id} was not found")
        if not self.load_worker(wake.worker_id).owned_by(principal.name):
            raise NotFoundError(f"wake {wake_id} was not found")

        def attempt() -> None:
            worker = self.load_worker(wake.worker_id)
            if worker.answer_wake(wake_id, wake.llm_name, ok, error, self.clock()):
                self.store.save(worker)

        retry_on_conflict(attempt)
        self.bus.publish(f"wake:{wake_id}", {"type": "wake", "ok": ok, "error": error})
        return {"wakeId": wake_id, "llmName": wake.llm_name, "ok": ok, "error": error}

    def _llms(self, worker: Worker) -> list[dict[str, Any]]:
        return [
            {
                "name": p["name"],
                "model": p["model"],
                "type": p.get("type"),
                "tier": p.get("tier"),
                "poolName": p.get("poolName") or p["name"],
                "workerId": worker.worker_id,
                "status": worker.llm_status(p),
            }
            for p in worker.providers
        ]
