"""The composition root: settings in, a wired container of use cases out."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from application.audit import AuditUseCases
from application.backends import BackendUseCases
from application.commands import CommandUseCases
from application.dispatch import Dispatcher
from application.event_log import EventLogUseCases
from application.infer import InferUseCase
from application.inference_sweep import InferenceSweeper
from application.inference_tasks import InferenceTaskUseCases
from application.ports import Clock
from application.queue_tasks import QueueTaskUseCases
from application.run_events import RunEventUseCases
from application.runners import RunnerUseCases
from application.runs import RunUseCases
from application.sessions import SessionUseCases
from application.task_watch import TaskWatch
from application.waiters import TaskWaiters
from application.worker_channel import WorkerChannel
from application.workers import WorkerUseCases
from infrastructure.availability import Availability, Reachability, refresh
from infrastructure.browser_sessions import BrowserSessions
from infrastructure.chunk_bus import ChunkBus
from infrastructure.database import Database, PostgresDatabase, SqliteDatabase
from infrastructure.event_log import EventLog, postgres_env, sqlite_env
from infrastructure.health import BoundedCheck, health_body
from infrastructure.heartbeats import Heartbeats
from infrastructure.leader_lock import AdvisoryLock, LocalLock
from infrastructure.log_reader import LogReader
from infrastructure.projection_runner import (
    ADVANCED_CHANNEL,
    ProjectionRunner,
    create_tables,
)
from infrastructure.projection_state import POSITIONS_TABLE, states
from infrastructure.settings import Settings
from infrastructure.signals import PostgresListener, Signal
from infrastructure.view_shape import retire_outdated_views
from infrastructure.views import ViewReader
from interfaces.http.auth import Authenticator, TokenRegistry
from interfaces.http.state import HttpState
from interfaces.inference_wiring import SweepLoop, build_inference
from projections.backends import Backends
from projections.base import Projection
from projections.event_index import EventIndex
from projections.inference_tasks import InferenceTasks
from projections.queue_stats import QueueStats
from projections.queue_tasks import QueueTasks
from projections.session_summaries import SessionSummaries
from projections.worker_registry import WorkerRegistry

log = logging.getLogger(__name__)

# Any constant works; it names the "projection runner" lock among this database's advisory locks.
PROJECTION_LOCK_KEY = 0x6167_656E_7472_756E & 0x7FFF_FFFF_FFFF_FFFF


def utc_now() -> datetime:
    return datetime.now(UTC)


def all_projections() -> list[Projection]:
    return [
        SessionSummaries(),
        QueueTasks(),
        QueueStats(),
        Backends(),
        InferenceTasks(),
        WorkerRegistry(),
        EventIndex(),
    ]


class Container:
    """Everything one server process (or one CLI command) needs, wired once.

    Every attribute is declared here and set in `__init__` only (a test holds it to that), so each
    `call.app.…` in a handler is type-checked.
    """

    settings: Settings
    version: str
    tokens: TokenRegistry
    openapi: dict[str, Any]
    events_signal: Signal
    advanced_signal: Signal
    listener: PostgresListener | None
    availability: Availability | None
    log: EventLog
    db: Database
    projections: list[Projection]
    runner: ProjectionRunner
    browser_sessions: BrowserSessions
    authenticator: Authenticator
    views: ViewReader
    runs: RunUseCases
    run_events: RunEventUseCases
    commands: CommandUseCases
    runners: RunnerUseCases
    sessions: SessionUseCases
    queue_tasks: QueueTaskUseCases
    backends: BackendUseCases
    log_reader: LogReader
    event_log: EventLogUseCases
    audit: AuditUseCases
    # The inference side, built together (`build_inference`).
    task_bus: ChunkBus
    heartbeats: Heartbeats
    inference_tasks: InferenceTaskUseCases
    workers: WorkerUseCases
    dispatcher: Dispatcher
    waiters: TaskWaiters
    infer: InferUseCase
    task_watch: TaskWatch
    worker_channel: WorkerChannel
    inference_sweeper: InferenceSweeper
    sweep_loop: SweepLoop
    # What the HTTP app over this container uses: metrics, SSE keep-alive, limiters, the tail hub.
    http: HttpState
    _local_health: BoundedCheck
    _started: bool

    def __init__(
        self,
        settings: Settings,
        clock: Clock = utc_now,
        tokens: TokenRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.version = _version()
        self.tokens = tokens or TokenRegistry.from_settings(settings.api_tokens, settings.auth)
        self.openapi = {}
        self.events_signal = Signal()
        self.advanced_signal = Signal()
        self.listener = None
        # PostgreSQL's reachability, probed in the background; requests fail fast on it (ADR 0032).
        self.availability = None
        if settings.database_url:
            url = settings.database_url
            self.availability = Availability(url)
            self.log = EventLog(
                postgres_env(url, settings.pool_size),
                self.events_signal.notify,
                settings.aggregate_memory,
                gate=self.availability,
            )
            self.availability.tables = [self.log.table, POSITIONS_TABLE]
            self.db = PostgresDatabase(url, max_size=settings.pool_size * 2, gate=self.availability)
            leader: AdvisoryLock | LocalLock = AdvisoryLock(url, PROJECTION_LOCK_KEY)
            self.listener = PostgresListener(
                url, {self.log.channel: self.events_signal, ADVANCED_CHANNEL: self.advanced_signal}
            )
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self.log = EventLog(
                sqlite_env(settings.data_dir / "events.sqlite3"),
                self.events_signal.notify,
                settings.aggregate_memory,
            )
            self.db = SqliteDatabase(settings.data_dir / "views.sqlite3")
            leader = LocalLock()
        self.projections = all_projections()
        retire_outdated_views(self.db, self.projections)  # an older table shape is folded again
        create_tables(self.db, self.projections)
        self.runner = ProjectionRunner(
            self.log,
            self.db,
            self.projections,
            events_signal=self.events_signal,
            advanced_signal=self.advanced_signal,
            leader=leader,
            batch_size=settings.projection_batch_size,
            poll_interval=settings.poll_interval,
            max_tries=settings.projection_max_tries,
            retry_backoff=settings.projection_retry_backoff,
        )
        self.browser_sessions = BrowserSessions(self.db, clock, timedelta(seconds=settings.ui_session_ttl))
        self.browser_sessions.create_table()
        self.authenticator = Authenticator(self.tokens, self.browser_sessions)
        names = [p.name for p in self.projections]
        self.views = ViewReader(self.db, self.log, names, self.advanced_signal, versions=self.runner.written)
        common: dict[str, Any] = {
            "store": self.log,
            "views": self.views,
            "clock": clock,
            "read_timeout": settings.read_timeout,
        }
        self.runs = RunUseCases(**common)
        self.run_events = RunEventUseCases(**common)
        self.commands = CommandUseCases(**common)
        self.runners = RunnerUseCases(**common)
        self.sessions = SessionUseCases(**common, run_events=self.run_events)
        self.queue_tasks = QueueTaskUseCases(**common)
        self.backends = BackendUseCases(**common, capabilities=settings.backend_capabilities())
        self.log_reader = LogReader(self.log, settings.database_url, gate=self.availability)
        self._local_health = BoundedCheck(self._check_local_store)
        if self.availability is not None:
            # The outage killed every idle pooled connection: replace them before the gate opens.
            assert isinstance(self.db, PostgresDatabase) and self.log_reader.pool is not None
            for pool in (self.log.recorder.datastore.pool, self.db.pool, self.log_reader.pool):
                self.availability.on_recovered(refresh(pool))
        self.event_log = EventLogUseCases(self.log_reader, index=self.views)
        self.audit = AuditUseCases(self.event_log)
        inference = build_inference(settings, self.db, self.listener, common)
        self.task_bus = inference.task_bus
        self.heartbeats = inference.heartbeats
        self.inference_tasks = inference.tasks
        self.workers = inference.workers
        self.dispatcher = inference.dispatcher
        self.waiters = inference.waiters
        self.infer = inference.infer
        self.task_watch = inference.task_watch
        self.worker_channel = inference.worker_channel
        self.inference_sweeper = inference.sweeper
        self.sweep_loop = inference.sweep_loop
        # Last: the HTTP side reads the use cases above (metrics, the tail hub).
        self.http = HttpState(self)
        self._started = False

    def start(self) -> None:
        """Start the background work: the listener and the projection runner."""
        if self._started:
            return
        self._started = True
        if self.availability is not None:
            self.availability.start()
        if self.listener is not None:
            self.listener.start()
        self.runner.start()
        self.sweep_loop.start()

    def close(self) -> None:
        if self._started:
            self.sweep_loop.stop()
            self.runner.stop()
            if self.listener is not None:
                self.listener.stop()
            if self.availability is not None:
                self.availability.stop()
            self._started = False
        self.http.close()
        self.log_reader.close()
        self.sweep_loop.close()
        self.db.close()
        self.log.close()

    def health(self) -> dict[str, Any]:
        """Reachability and readiness within a second, without ever printing a credential."""
        if self.availability is None:
            state = self._local_health()
        elif self.availability.running:
            state = self.availability.status()  # at most `interval` old; no wait on any pool
        else:
            state = self.availability.probe()
        return health_body(self.settings.adapter, state)

    def _check_local_store(self) -> Reachability:
        try:
            self.db.fetchone("SELECT 1 AS ok")
        except Exception as error:  # noqa: BLE001 - health reports, never raises
            return Reachability(False, False, type(error).__name__)
        try:
            states(self.db)
            self.log.head()
        except Exception as error:  # noqa: BLE001 - health reports, never raises
            return Reachability(True, False, type(error).__name__)
        return Reachability(True, True)


def _version() -> str:
    try:
        return version("agentrun")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0.0.0"
