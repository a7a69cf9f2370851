"""A poison event for tests: a real stored event that one real fold cannot handle."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.queue_task_reads import QueueTaskReads
from infrastructure.event_log import EventLog

POISONED = "queue_tasks"
POISON_TYPE = "QueueTaskReads.ReadMarked"


def store_poison(log: EventLog, task_id: str, tenant_id: str = "t") -> int:
    """Store a read mark without its reader (a bad payload): only the queue_tasks fold reads it.

    It goes through the real mapper and recorder, as an upcast bug or an old writer would leave it.
    """
    now = datetime.now(UTC)
    reads = QueueTaskReads.create(task_id=task_id, tenant_id=tenant_id, now=now)
    reads.mark_read("reader", 1, now)
    del vars(reads.pending_events[-1])["reader_id"]
    return log.save(reads)[-1]
