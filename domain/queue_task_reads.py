"""Per-reader read cursors of a queue task, apart from the task so reads never contend with attempts."""

from __future__ import annotations

from datetime import datetime

from domain.base import Aggregate


def queue_task_reads_id(task_id: str) -> str:
    return f"queue-reads:{task_id}"


class QueueTaskReads(Aggregate):
    """The read marks of one queue task: which reader saw which version of it, and when."""

    class Created(Aggregate.Created):
        task_id: str
        tenant_id: str

    @classmethod
    def create(cls, *, task_id: str, tenant_id: str, now: datetime) -> QueueTaskReads:
        return cls._create(
            cls.Created, id=queue_task_reads_id(task_id), timestamp=now, task_id=task_id, tenant_id=tenant_id
        )

    def __init__(self, task_id: str, tenant_id: str) -> None:
        self.task_id = task_id
        self.tenant_id = tenant_id
        self.cursors: dict[str, tuple[int, datetime]] = {}

    class ReadMarked(Aggregate.Event):
        reader_id: str
        task_version: int

        def apply(self, reads: QueueTaskReads) -> None:
            reads.cursors = {**reads.cursors, self.reader_id: (self.task_version, self.timestamp)}

    def mark_read(self, reader_id: str, task_version: int, now: datetime) -> None:
        """Record that the reader has seen the task at `task_version` (its version is a log position)."""
        self._trigger(self.ReadMarked, now, reader_id=reader_id, task_version=task_version)
