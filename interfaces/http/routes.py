"""Every route of the API, in one list."""

from __future__ import annotations

from interfaces.http.backends import handlers as backends
from interfaces.http.backends.models import (
    BackendProfileList,
    BackendResolvedOut,
    MinPositionQuery,
    ResolveBackend,
    RunBackendOut,
)
from interfaces.http.commands import handlers as commands
from interfaces.http.commands.models import (
    CommandOut,
    CommandPage,
    CommandPageQuery,
    CreateCommand,
    FinishCommand,
)
from interfaces.http.console import handlers as console
from interfaces.http.console.models import ConsoleLogin, ConsoleSessionOut
from interfaces.http.endpoint import Endpoint
from interfaces.http.events import handlers as events
from interfaces.http.events.models import AuditOut, AuditQuery, EventPage, EventsQuery
from interfaces.http.inference import handlers as inference
from interfaces.http.inference.models import (
    EnqueueTask,
    InferBody,
    InferenceTaskOut,
    InferenceTaskPage,
    PostChunk,
    PostResult,
    TaskCounts,
    TaskCountsQuery,
    TaskListQuery,
    TaskQuery,
)
from interfaces.http.ops import handlers as ops
from interfaces.http.ops.models import HealthOut
from interfaces.http.projections import handlers as projections
from interfaces.http.projections.models import ProjectionStatusList
from interfaces.http.queue import handlers as queue
from interfaces.http.queue.models import (
    CancelMatching,
    CancelMatchingOut,
    CancelQueueTask,
    CreateQueueTask,
    MarkQueueTaskRead,
    QueueCommanderOut,
    QueueReadCursorOut,
    QueueStatsOut,
    QueueTaskListQuery,
    QueueTaskOut,
    QueueTaskPage,
    QueueViewQuery,
    RecordAttempt,
)
from interfaces.http.runs import handlers as runs
from interfaces.http.runs.models import (
    AppendRunEvent,
    AppendRunEvents,
    Cancel,
    ClaimRun,
    CreateRun,
    FinishRun,
    Heartbeat,
    RecordRunnerJob,
    RegisterRunner,
    RunEventBatchOut,
    RunEventOut,
    RunEventPage,
    RunnerJobList,
    RunnerJobOut,
    RunnerJobQuery,
    RunnerOut,
    RunOut,
)
from interfaces.http.sessions import handlers as sessions
from interfaces.http.sessions.models import (
    MarkRead,
    MarkReadOut,
    SessionCountsOut,
    SessionCountsQuery,
    SessionListQuery,
    SessionPage,
    SessionQuery,
    SessionSummaryOut,
    TracePage,
    TraceQuery,
)
from interfaces.http.wire import SeqPageQuery
from interfaces.http.workers import handlers as workers
from interfaces.http.workers.models import (
    LlmList,
    RegisteredWorkerOut,
    RegisterWorker,
    RegistryQuery,
    WakeResult,
    WakeResultOut,
    WorkerList,
    WorkerOut,
    WorkerState,
)

API_PREFIX = "/api/v1"

# fmt: off
OPS = [
    Endpoint(
        "GET", "/healthz", ops.healthz, "Health", response=HealthOut, auth=False, also=(503,), own_threads=True
    ),
    Endpoint("GET", "/openapi.json", ops.openapi, "OpenAPI description", auth=False),
    Endpoint("GET", "/metrics", ops.metrics, "Prometheus metrics", auth=False),
]

# The console's browser sessions (ADR 0034); the page itself is served by console_pages.
CONSOLE = [
    Endpoint("POST", "/ui/login", console.login, "Log in to the console", ConsoleLogin, None, ConsoleSessionOut, auth=False),
    Endpoint("GET", "/ui/session", console.current_session, "The console session of the cookie", response=ConsoleSessionOut, auth=False),
    Endpoint("POST", "/ui/logout", console.logout, "Log out of the console", status=204, auth=False),
]

API = [
    # Runs
    Endpoint("POST", "/runs", runs.create_run, "Create a run", CreateRun, None, RunOut, 201),
    Endpoint("GET", "/runs/{runId}", runs.get_run, "Get a run", response=RunOut),
    Endpoint("POST", "/runs/{runId}/claim", runs.claim_run, "Claim a run", ClaimRun, None, RunOut),
    Endpoint("POST", "/runs/{runId}/heartbeat", runs.heartbeat_run, "Extend a lease", Heartbeat, None, RunOut),
    Endpoint("POST", "/runs/{runId}/finish", runs.finish_run, "Finish a run", FinishRun, None, RunOut),
    Endpoint("POST", "/runs/{runId}/cancel", runs.cancel_run, "Cancel a run", Cancel, None, RunOut),
    # Run events
    Endpoint("POST", "/runs/{runId}/events", runs.append_event, "Append a run event", AppendRunEvent, None, RunEventOut, 201),
    Endpoint("POST", "/runs/{runId}/events:batch", runs.append_events, "Append run events", AppendRunEvents, None, RunEventBatchOut, 201),
    Endpoint("GET", "/runs/{runId}/events", runs.list_events, "List run events", query=SeqPageQuery, response=RunEventPage),
    # Commands
    Endpoint("POST", "/runs/{runId}/commands", commands.create_command, "Create a command", CreateCommand, None, CommandOut, 201, also=(200,)),
    Endpoint("GET", "/runs/{runId}/commands", commands.list_commands, "List commands", query=CommandPageQuery, response=CommandPage),
    Endpoint("GET", "/commands/{commandId}", commands.get_command, "Get a command", response=CommandOut),
    Endpoint("POST", "/commands/{commandId}/ack", commands.ack_command, "Acknowledge a command", response=CommandOut),
    Endpoint("POST", "/commands/{commandId}/finish", commands.finish_command, "Finish a command", FinishCommand, None, CommandOut),
    Endpoint("POST", "/commands/{commandId}/cancel", commands.cancel_command, "Cancel a command", Cancel, None, CommandOut),
    # Runners
    Endpoint("POST", "/runners", runs.register_runner, "Register a runner", RegisterRunner, None, RunnerOut),
    Endpoint("POST", "/runs/{runId}/runner-jobs", runs.record_runner_job, "Record a runner job", RecordRunnerJob, None, RunnerJobOut, 201, also=(200,)),
    Endpoint("GET", "/runs/{runId}/runner-jobs", runs.list_runner_jobs, "List runner jobs", query=RunnerJobQuery, response=RunnerJobList),
    # Sessions
    Endpoint("GET", "/sessions", sessions.list_sessions, "List sessions", query=SessionListQuery, response=SessionPage),
    Endpoint("GET", "/sessions/counts", sessions.session_counts, "Session counts per list state", query=SessionCountsQuery, response=SessionCountsOut),
    Endpoint("GET", "/sessions/{sessionId}", sessions.get_session, "Get a session summary", query=SessionQuery, response=SessionSummaryOut),
    Endpoint("GET", "/sessions/{sessionId}/trace", sessions.session_trace, "Session trace", query=TraceQuery, response=TracePage),
    Endpoint("GET", "/sessions/{sessionId}/output", sessions.session_output, "Session output", query=TraceQuery, response=TracePage),
    Endpoint("POST", "/sessions/{sessionId}/read", sessions.mark_read, "Mark a session read", MarkRead, None, MarkReadOut),
    # Queue tasks
    Endpoint("POST", "/queue/tasks", queue.create_task, "Create a queue task", CreateQueueTask, None, QueueTaskOut, 201, also=(200,)),
    Endpoint("GET", "/queue/tasks", queue.list_tasks, "List queue tasks", query=QueueTaskListQuery, response=QueueTaskPage),
    Endpoint("POST", "/queue/tasks:cancel", queue.cancel_matching, "Cancel every queue task matching a filter", CancelMatching, None, CancelMatchingOut),
    Endpoint("GET", "/queue/tasks/{taskId}", queue.get_task, "Get a queue task", response=QueueTaskOut),
    Endpoint("POST", "/queue/tasks/{taskId}/attempts", queue.record_attempt, "Record a queue task attempt", RecordAttempt, None, QueueTaskOut),
    Endpoint("POST", "/queue/tasks/{taskId}/cancel", queue.cancel_task, "Cancel a queue task", CancelQueueTask, None, QueueTaskOut),
    Endpoint("POST", "/queue/tasks/{taskId}/read", queue.mark_read, "Mark a queue task read", MarkQueueTaskRead, None, QueueReadCursorOut),
    Endpoint("GET", "/queue/stats", queue.stats, "Queue stats", query=QueueViewQuery, response=QueueStatsOut),
    Endpoint("GET", "/queue/commander", queue.commander, "Queue commander snapshot", query=QueueViewQuery, response=QueueCommanderOut),
    # Backends
    Endpoint("POST", "/runs/{runId}/backend", backends.resolve_backend, "Record a run's resolved backend", ResolveBackend, None, BackendResolvedOut),
    Endpoint("GET", "/runs/{runId}/backend", backends.get_run_backend, "A run's backend and history", query=MinPositionQuery, response=RunBackendOut),
    Endpoint("GET", "/backends", backends.list_backends, "Backend profiles", query=MinPositionQuery, response=BackendProfileList),
    # Event log, tail, audit, projections
    Endpoint("GET", "/events", events.list_events, "List log events", query=EventsQuery, response=EventPage),
    Endpoint("GET", "/events/stream", events.stream_events, "Tail the log (SSE)", query=EventsQuery, stream=True),
    Endpoint("GET", "/audit/{aggregateId}", events.audit, "Audit an aggregate", query=AuditQuery, response=AuditOut),
    Endpoint("GET", "/projections", projections.list_projections, "Projections status", response=ProjectionStatusList),
    # Workers and inference tasks
    Endpoint("POST", "/workers", workers.register_worker, "Register a worker", RegisterWorker, None, RegisteredWorkerOut),
    Endpoint("GET", "/workers", workers.list_workers, "List workers", query=RegistryQuery, response=WorkerList),
    Endpoint("GET", "/workers/{workerId}", workers.get_worker, "Get a worker", query=RegistryQuery, response=WorkerOut),
    Endpoint("POST", "/workers/{workerId}/heartbeat", workers.heartbeat, "Worker heartbeat", status=204),
    Endpoint("GET", "/workers/{workerId}/channel", workers.channel, "Worker channel (SSE)", stream=True),
    Endpoint("PUT", "/workers/{workerId}/state", workers.put_state, "Update worker state", WorkerState, None, WorkerOut),
    Endpoint("GET", "/llms", workers.list_llms, "List LLMs", query=RegistryQuery, response=LlmList),
    Endpoint("POST", "/llms/{name}/infer", inference.infer, "Infer synchronously", InferBody),
    Endpoint("POST", "/wakes/{wakeId}/result", workers.wake_result, "Answer a wake", WakeResult, None, WakeResultOut),
    Endpoint("POST", "/inference-tasks", inference.enqueue, "Enqueue an inference task", EnqueueTask, None, InferenceTaskOut, 202),
    Endpoint("GET", "/inference-tasks", inference.list_tasks, "List inference tasks", query=TaskListQuery, response=InferenceTaskPage),
    Endpoint("GET", "/inference-tasks/counts", inference.task_counts, "Count inference tasks by status", query=TaskCountsQuery, response=TaskCounts),
    Endpoint("GET", "/inference-tasks/{taskId}", inference.get_task, "Get or wait for an inference task", query=TaskQuery, response=InferenceTaskOut, on_loop=inference.wait_remembered),
    Endpoint("GET", "/inference-tasks/{taskId}/stream", inference.stream_task, "Stream an inference task (SSE)", stream=True),
    Endpoint("DELETE", "/inference-tasks/{taskId}", inference.cancel_task, "Cancel an inference task", response=InferenceTaskOut),
    Endpoint("POST", "/inference-tasks/{taskId}/chunks", inference.post_chunk, "Post a chunk", PostChunk, status=204),
    Endpoint("POST", "/inference-tasks/{taskId}/result", inference.post_result, "Post a result", PostResult, None, InferenceTaskOut),
]
# fmt: on
