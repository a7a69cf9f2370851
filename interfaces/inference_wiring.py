"""Wiring of the inference side: the task bus, use cases, dispatcher, waiters and the sweeper thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from application.dispatch import Dispatcher
from application.infer import InferUseCase
from application.inference_sweep import InferenceSweeper
from application.inference_tasks import InferenceTaskUseCases
from application.task_watch import TaskWatch
from application.waiters import TaskWaiters
from application.worker_channel import WorkerChannel
from application.workers import WorkerUseCases
from infrastructure.chunk_bus import ChunkBus
from infrastructure.database import Database
from infrastructure.heartbeats import Heartbeats
from infrastructure.settings import Settings
from infrastructure.signals import PostgresListener

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inference:
    """The inference side of one process, built together since its use cases share one bus."""

    task_bus: ChunkBus
    heartbeats: Heartbeats
    tasks: InferenceTaskUseCases
    workers: WorkerUseCases
    dispatcher: Dispatcher
    waiters: TaskWaiters
    infer: InferUseCase
    task_watch: TaskWatch
    worker_channel: WorkerChannel
    sweeper: InferenceSweeper
    sweep_loop: SweepLoop


def build_inference(
    settings: Settings, db: Database, listener: PostgresListener | None, common: dict[str, Any]
) -> Inference:
    """The inference use cases over the container's store and views (build before the listener starts)."""
    bus = ChunkBus(db, listener)
    heartbeats = Heartbeats(db)
    tasks = InferenceTaskUseCases(**common, bus=bus)
    workers = WorkerUseCases(**common, liveness=heartbeats, bus=bus, tasks=tasks)
    tasks.request_wake = workers.request_wake
    waiters = TaskWaiters(tasks, bus)
    dispatcher = Dispatcher(tasks, workers, bus)
    tasks.hand_off = dispatcher.hand_off
    sweeper = InferenceSweeper(
        **common, heartbeats=heartbeats, tasks=tasks, workers=workers, worker_timeout=settings.worker_timeout
    )
    return Inference(
        task_bus=bus,
        heartbeats=heartbeats,
        tasks=tasks,
        workers=workers,
        dispatcher=dispatcher,
        waiters=waiters,
        infer=InferUseCase(tasks, workers, waiters),
        task_watch=TaskWatch(tasks, waiters),
        worker_channel=WorkerChannel(workers, dispatcher),
        sweeper=sweeper,
        sweep_loop=SweepLoop(sweeper, settings.sweep_interval, bus),
    )


class SweepLoop:
    """Runs the retention sweep in the server every `interval` seconds; closing it closes the bus."""

    def __init__(self, sweeper: InferenceSweeper, interval: float, bus: ChunkBus) -> None:
        self.sweeper = sweeper
        self.interval = interval
        self.bus = bus
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopped.clear()
        self._thread = threading.Thread(target=self._run, name="inference-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def close(self) -> None:
        self.bus.close()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.sweeper.sweep()
            except Exception:  # noqa: BLE001 - keep sweeping through outages
                log.warning("inference sweep failed", exc_info=True)


class WaitersCollector(Collector):
    """`agentrun_inference_waiters`: long-polls and task streams this replica is serving now."""

    def __init__(self, waiters: TaskWaiters) -> None:
        self.waiters = waiters

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("agentrun_inference_waiters", "Inference waiters and streams being served")
        gauge.add_metric([], self.waiters.active)
        yield gauge
