"""`RunnerLoop`: claim a run, keep its lease alive, append events under the claim, finish it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from interfaces.client.client import AgentRunClient
from interfaces.client.errors import ClientError, Conflict
from interfaces.client.types_runs import JsonObject, NewRunEvent, Run, RunEvent, TerminalStatus

log = logging.getLogger(__name__)


class ClaimedRun:
    """A run this runner holds: events are fenced by its `claimEpoch`; a thread renews the lease.

    Used as a context manager: leaving the block stops the heartbeat, and an exception escaping it
    finishes the run as `failed` (unless it was already finished or the claim was lost).
    """

    def __init__(self, client: AgentRunClient, run: Run, runner_id: str, lease_ms: int, every: float) -> None:
        self.client = client
        self.run = run
        self.runner_id = runner_id
        self.lease_ms = lease_ms
        self.epoch = run["claimEpoch"]
        self.finished = False
        # Set when a heartbeat is refused: a newer claim holds the run, so stop working on it.
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._heartbeats, args=(every,), name="run-lease", daemon=True)
        self._thread.start()

    @property
    def run_id(self) -> str:
        return self.run["id"]

    def append(self, type: str, payload: JsonObject) -> RunEvent:
        return self.client.runs.append_event(
            self.run_id, type, payload, runner_id=self.runner_id, claim_epoch=self.epoch
        )

    def append_many(self, events: Sequence[tuple[str, JsonObject]]) -> list[RunEvent]:
        batch: list[NewRunEvent] = [
            {"type": t, "payload": p, "runnerId": self.runner_id, "claimEpoch": self.epoch} for t, p in events
        ]
        return self.client.runs.append_events(self.run_id, batch)["items"]

    def finish(
        self,
        terminal_status: TerminalStatus = "completed",
        *,
        failure_kind: str | None = None,
        failure_message: str | None = None,
        thread_id: str | None = None,
        turn_id: str | None = None,
    ) -> Run:
        self.stop_heartbeat()
        self.run = self.client.runs.finish(
            self.run_id,
            terminal_status,
            failure_kind=failure_kind,
            failure_message=failure_message,
            thread_id=thread_id,
            turn_id=turn_id,
            claim_epoch=self.epoch,
        )
        self.finished = True
        return self.run

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _heartbeats(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.run = self.client.runs.heartbeat(self.run_id, self.runner_id, self.epoch, self.lease_ms)
            except Conflict as error:
                log.warning("run %s: lease lost (%s)", self.run_id, error.kind)
                self.lost.set()
                return
            except ClientError as error:
                log.info("run %s: heartbeat failed, retrying: %s", self.run_id, error)

    def __enter__(self) -> ClaimedRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_heartbeat()
        if error is None or self.finished or self.lost.is_set():
            return
        try:
            self.finish("failed", failure_kind=type(error).__name__, failure_message=str(error)[:2000])
        except ClientError as failure:
            log.warning("run %s: could not record the failure: %s", self.run_id, failure)


class RunnerLoop:
    """A runner: registers once, then claims runs and works on them under a renewed lease."""

    def __init__(
        self,
        client: AgentRunClient,
        runner_id: str | None = None,
        *,
        labels: JsonObject | None = None,
        lease_ms: int = 30_000,
        heartbeat_every: float | None = None,
    ) -> None:
        self.client = client
        self.lease_ms = lease_ms
        self.heartbeat_every = heartbeat_every if heartbeat_every is not None else lease_ms / 3000
        self.runner_id = client.runners.register(runner_id, labels)["id"]

    def claim(self, run_id: str) -> ClaimedRun:
        """Claim `run_id`; `RunnerLeaseConflict` if another runner holds it, `Conflict` if terminal."""
        run = self.client.runs.claim(run_id, self.runner_id, self.lease_ms)
        return ClaimedRun(self.client, run, self.runner_id, self.lease_ms, self.heartbeat_every)

    def work(self, run_id: str, body: Callable[[ClaimedRun], Any]) -> Run:
        """Claim, run `body(claimed)`, and finish `completed` unless `body` finished the run itself."""
        with self.claim(run_id) as claimed:
            body(claimed)
            if not claimed.finished and not claimed.lost.is_set():
                claimed.finish("completed")
            return claimed.run
