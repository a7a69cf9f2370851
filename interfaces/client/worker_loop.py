"""`WorkerLoop`: register, heartbeat, consume the channel with reconnects, run tasks, post results."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from interfaces.client.client import AgentRunClient
from interfaces.client.core import abort
from interfaces.client.errors import ClientError, Conflict, NotFound
from interfaces.client.types_runs import JsonObject
from interfaces.client.types_work import ChannelTask, ChannelWake, Provider
from interfaces.client.uploader import WorkerStateUploader

log = logging.getLogger(__name__)


@dataclass
class TaskContext:
    """What a task handler gets besides the task: a way to stream chunks back."""

    client: AgentRunClient
    worker_id: str
    task: ChannelTask
    # Set when the server sends `event: cancel` for the task: stop generating, nobody will read it.
    cancelled: threading.Event = field(default_factory=threading.Event)

    def chunk(self, data: Any, *, done: bool | None = None) -> None:
        self.client.inference.post_chunk(self.task["taskId"], self.worker_id, data, done=done)


# A handler returns the response body, or raises to report an error for the task.
TaskHandler = Callable[[ChannelTask, TaskContext], JsonObject]
WakeHandler = Callable[[str], bool]


class WorkerLoop:
    """A worker process's main loop, on background threads; `start()`, then `stop()`.

    The channel is reconnected with capped exponential backoff and the same `workerId` (a sticky
    reconnect), so the server gives the worker back its LLM rows. A task already running here that
    the server sends again after a reconnect is not started twice. Results are posted until they
    land; `stale-attempt` (the task went to another worker) ends the attempt. The worker's state is
    kept current through a `WorkerStateUploader`.
    """

    def __init__(
        self,
        client: AgentRunClient,
        providers: Sequence[Provider],
        handler: TaskHandler,
        *,
        worker_id: str | None = None,
        wake_handler: WakeHandler | None = None,
        heartbeat_interval: float = 30.0,
        reconnect_base: float = 0.1,
        reconnect_cap: float = 5.0,
        max_parallel: int = 4,
        state_backoff: tuple[float, float, float] = (0.2, 5.0, 0.2),
        channel_read_timeout: float = 45.0,
    ) -> None:
        self.client = client
        self.providers = list(providers)
        self.handler = handler
        self.wake_handler = wake_handler or (lambda llm_name: True)
        self.worker_id = worker_id
        self.heartbeat_interval = heartbeat_interval
        self.reconnect_base, self.reconnect_cap = reconnect_base, reconnect_cap
        self.channel_read_timeout = channel_read_timeout
        self.connections = 0
        self.completed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._contexts: dict[str, TaskContext] = {}
        # Task ids the server cancelled while this worker held them (the latest few).
        self.cancelled: list[str] = []
        self._pool = ThreadPoolExecutor(max_parallel, thread_name_prefix="worker-task")
        # The open channel response, so `stop()` can cut it under a blocked read.
        self._channel: httpx.Response | None = None
        base, cap, jitter = state_backoff
        self.state = WorkerStateUploader(self._put_state, base=base, cap=cap, jitter=jitter)
        self._threads: list[threading.Thread] = []

    def start(self) -> WorkerLoop:
        self._threads = [
            threading.Thread(target=self.run, name="worker-channel", daemon=True),
            threading.Thread(target=self._heartbeats, name="worker-heartbeat", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._lock:
            channel = self._channel
        if channel is not None:
            abort(channel)
        for thread in self._threads:
            thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.state.close(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Register and consume the channel until stopped, reconnecting after every failure."""
        failures = 0
        while not self._stop.is_set():
            try:
                self._register()
                failures = 0 if self._consume() else failures
            except ClientError as error:
                if self._stop.is_set():
                    return
                log.info("worker %s: channel failed (%s); reconnecting", self.worker_id, error)
            except Exception:
                log.exception("worker %s: unexpected error in the channel loop", self.worker_id)
            failures += 1
            self._stop.wait(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        return float(min(self.reconnect_base * 2 ** (failures - 1), self.reconnect_cap)) * (
            0.5 + random.random() / 2
        )

    def _register(self) -> None:
        registration = self.client.workers.register(self.providers, worker_id=self.worker_id)
        self.worker_id = registration["workerId"]
        self.connections += 1
        self.state.enqueue(
            {"workerStatus": self._status(), "externalMetadata": {"connections": self.connections}}
        )

    def _consume(self) -> bool:
        """Read the channel until it ends; True if it delivered anything (the connection was good)."""
        assert self.worker_id is not None
        delivered = False
        try:
            channel = self.client.workers.channel(
                self.worker_id, read_timeout=self.channel_read_timeout, on_open=self._opened
            )
            for event in channel:
                delivered = True
                if self._stop.is_set():
                    break
                if event.event == "task":
                    self._accept(event.data)
                elif event.event == "wake":
                    self._pool.submit(self._wake, event.data)
                elif event.event == "cancel":
                    self._cancel(event.data["taskId"])
        finally:
            with self._lock:
                self._channel = None
        return delivered

    def _opened(self, response: httpx.Response) -> None:
        with self._lock:
            self._channel = response
            stopping = self._stop.is_set()
        if stopping:
            abort(response)

    def _accept(self, task: ChannelTask) -> None:
        with self._lock:
            if task["taskId"] in self._running:
                return  # sent again after a reconnect while it still runs here
            self._running.add(task["taskId"])
        self.state.enqueue({"workerStatus": "busy", "internalMetadata": {"activeTasks": len(self._running)}})
        self._pool.submit(self._execute, task)

    def _execute(self, task: ChannelTask) -> None:
        assert self.worker_id is not None
        context = TaskContext(self.client, self.worker_id, task)
        with self._lock:
            self._contexts[task["taskId"]] = context
        try:
            try:
                body = self.handler(task, context)
            except ClientError as error:
                if isinstance(error, Conflict | NotFound):
                    return  # the task was taken from us or is gone: nothing to report
                self._post_result(task, error=f"{error.kind}: {error.message}")
            except Exception as error:
                self._post_result(task, error=f"{type(error).__name__}: {error}")
            else:
                self._post_result(task, body=body)
        finally:
            with self._lock:
                self._running.discard(task["taskId"])
                self._contexts.pop(task["taskId"], None)
                self.completed += 1
                active, completed = len(self._running), self.completed
            self.state.enqueue(
                {
                    "workerStatus": self._status(),
                    "internalMetadata": {"activeTasks": active, "lastTaskId": task["taskId"]},
                    "externalMetadata": {"completedTasks": completed},
                }
            )

    def _post_result(
        self, task: ChannelTask, *, body: JsonObject | None = None, error: str | None = None
    ) -> None:
        assert self.worker_id is not None
        failures = 0
        while not self._stop.is_set():
            try:
                self.client.inference.post_result(task["taskId"], self.worker_id, body_=body, error=error)
                return
            except ClientError as failure:
                if not failure.retryable:
                    log.info("task %s: result not taken (%s)", task["taskId"], failure.kind)
                    return
            failures += 1
            self._stop.wait(self._backoff(failures))

    def _cancel(self, task_id: str) -> None:
        with self._lock:
            self.cancelled = [*self.cancelled[-99:], task_id]
            context = self._contexts.get(task_id)
        if context is not None:
            context.cancelled.set()

    def _wake(self, wake: ChannelWake) -> None:
        try:
            ok = bool(self.wake_handler(wake["llmName"]))
            self.client.workers.wake_result(wake["wakeId"], ok, None if ok else "wake failed")
        except Exception as error:
            log.warning("wake %s failed: %s", wake.get("wakeId"), error)

    def _heartbeats(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            if self.worker_id is None:
                continue
            try:
                self.client.workers.heartbeat(self.worker_id)
            except ClientError as error:
                log.info("worker %s: heartbeat failed: %s", self.worker_id, error)

    def _put_state(self, patch: dict[str, Any]) -> None:
        if self.worker_id is None:
            raise NotFound("not registered yet")
        self.client.workers.put_state(self.worker_id, patch)

    def _status(self) -> str:
        return "busy" if self._running else "idle"
