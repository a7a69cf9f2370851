"""Wiring of the inference side: the task bus, use cases, dispatcher, waiters and the sweeper thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from application.dispatch import Dispatcher
from application.infer import InferUseCase
from application.inference_sweep import InferenceSweeper
from application.inference_tasks import InferenceTaskUseCases
from application.waiters import TaskWaiters
from application.workers import WorkerUseCases
from infrastructure.chunk_bus import ChunkBus
from infrastructure.heartbeats import Heartbeats

log = logging.getLogger(__name__)


def wire_inference(container: Any, common: dict[str, Any]) -> SweepLoop:
    """Attach the inference use cases to the container (call before the listener starts)."""
    settings = container.settings
    bus = ChunkBus(container.db, container.listener)
    heartbeats = Heartbeats(container.db)
    container.task_bus = bus
    container.heartbeats = heartbeats
    container.inference_tasks = InferenceTaskUseCases(**common, bus=bus)
    container.workers = WorkerUseCases(
        **common, liveness=heartbeats, bus=bus, tasks=container.inference_tasks
    )
    container.inference_tasks.request_wake = container.workers.request_wake
    container.dispatcher = Dispatcher(container.inference_tasks, container.workers, bus)
    container.waiters = TaskWaiters(container.inference_tasks, bus)
    container.infer = InferUseCase(container.inference_tasks, container.workers, container.waiters)
    container.inference_sweeper = InferenceSweeper(
        **common,
        heartbeats=heartbeats,
        tasks=container.inference_tasks,
        workers=container.workers,
        worker_timeout=settings.worker_timeout,
    )
    return SweepLoop(container.inference_sweeper, settings.sweep_interval, bus)


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
