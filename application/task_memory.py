"""What a replica remembers of the tasks it last saved or read: position, status, holder and owner."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from domain.inference_task import HELD, InferenceTask

TASK_MEMORY = 10_000


class Remembered(NamedTuple):
    version: int
    position: int
    status: str
    claimed_by: str | None
    owner_id: str


class TaskMemory:
    """Each task's state as this replica last saw it, with the log position of that state (LRU).

    The position of a task's last event names one version of it, so when the log still shows that
    position for the task, what is remembered is what a fresh read would return: a worker's chunk
    can be accepted on it after one indexed lookup instead of a load. Any other answer is decided
    on a fresh load.
    """

    def __init__(self, size: int = TASK_MEMORY) -> None:
        self.size = size
        self._entries: OrderedDict[str, Remembered] = OrderedDict()
        self._lock = threading.Lock()

    def position(self, task_id: str, version: int) -> int | None:
        """The remembered position of this version of the task, if that is the one remembered."""
        with self._lock:
            entry = self._entries.get(task_id)
        # A version that moved on (a write on another replica) means the position must be read again.
        return entry.position if entry is not None and entry.version == version else None

    def put(self, task: InferenceTask, position: int) -> None:
        entry = Remembered(task.version, position, task.status, task.claimed_by, task.owner_id)
        with self._lock:
            self._entries[task.id] = entry
            self._entries.move_to_end(task.id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def get(self, task_id: str) -> Remembered | None:
        with self._lock:
            return self._entries.get(task_id)

    def held(self, task_id: str, worker_id: str) -> Remembered | None:
        """What is remembered of the task if it was last seen claimed or running by this worker."""
        with self._lock:
            entry = self._entries.get(task_id)
        if entry is None or entry.status not in HELD or entry.claimed_by != worker_id:
            return None
        return entry
