"""What a replica remembers of the tasks it just wrote: their positions, and the tasks themselves."""

from __future__ import annotations

import threading
from collections import OrderedDict

from domain.inference_task import InferenceTask

POSITION_MEMORY = 10_000


class PositionMemory:
    """The log position of recently saved or read tasks, keyed by task id and version (LRU)."""

    def __init__(self, size: int = POSITION_MEMORY) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, task_id: str, version: int) -> int | None:
        with self._lock:
            entry = self._entries.get(task_id)
        # A version that moved on (a write on another replica) means the position must be read again.
        return entry[1] if entry is not None and entry[0] == version else None

    def put(self, task_id: str, version: int, position: int) -> None:
        with self._lock:
            self._entries[task_id] = (version, position)
            self._entries.move_to_end(task_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class HandOver:
    """Tasks this replica just saved, handed to the next step (the claim, the result) without a load.

    A handed-over task may be stale (written since on another replica): its next save is then a lost
    compare-and-set, and the step reloads and decides again. Each entry is taken once.
    """

    def __init__(self, size: int = POSITION_MEMORY) -> None:
        self.size = size
        self._tasks: OrderedDict[str, InferenceTask] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, task: InferenceTask) -> None:
        with self._lock:
            self._tasks[task.id] = task
            self._tasks.move_to_end(task.id)
            while len(self._tasks) > self.size:
                self._tasks.popitem(last=False)

    def take(self, task_id: str) -> InferenceTask | None:
        with self._lock:
            return self._tasks.pop(task_id, None)
