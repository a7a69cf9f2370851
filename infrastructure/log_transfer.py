"""Export the whole log to JSON lines, and import such a file into an empty store, positions and all.

One JSON object per line, in position order:
`{"position", "originatorId", "originatorVersion", "topic", "type", "state"}` where `state` is
the stored event state as JSON (the transcoder's own form, datetimes tagged) and `type` the
event's name (`Run.Claimed`), for readers; import uses `topic` and `state`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import orjson

from infrastructure.event_log import EventLog

Progress = Callable[[int], None]
BATCH = 2_000


class NonEmptyStoreError(Exception):
    """Import goes into an empty store only, so that positions are preserved."""


class BadExportError(Exception):
    """A line of the file is not an exported event, or positions do not rise."""


def _no_progress(n: int) -> None:
    pass


def export_lines(log: EventLog, progress: Progress = _no_progress) -> Iterator[bytes]:
    """Every event of the log as one JSON line, in position order."""
    last = 0
    while True:
        batch = log.notifications(after=last, limit=BATCH)
        if not batch:
            return
        for n in batch:
            yield (
                orjson.dumps(
                    {
                        "position": n.id,
                        "originatorId": n.originator_id,
                        "originatorVersion": n.originator_version,
                        "topic": n.topic,
                        "type": n.topic.rsplit(":", 1)[-1],
                        "state": orjson.Fragment(n.state),
                    }
                )
                + b"\n"
            )
        last = batch[-1].id
        progress(len(batch))


def export_log(log: EventLog, out: IO[bytes], progress: Progress = _no_progress) -> int:
    count = 0
    for line in export_lines(log, progress):
        out.write(line)
        count += 1
    return count


def _rows(lines: Iterable[bytes]) -> Iterator[tuple[int, str, int, str, bytes]]:
    last = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            row = (
                int(record["position"]),
                str(record["originatorId"]),
                int(record["originatorVersion"]),
                str(record["topic"]),
                orjson.dumps(record["state"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise BadExportError(f"line {number} is not an exported event: {error}") from error
        if row[0] <= last:
            raise BadExportError(f"line {number}: position {row[0]} does not follow {last}")
        last = row[0]
        yield row


def import_log(log: EventLog, lines: Iterable[bytes], progress: Progress = _no_progress) -> int:
    """Insert every exported event at its position; refuses a store that holds any event."""
    held = log.head()
    if held:
        raise NonEmptyStoreError(
            f"the store already holds events (head position {held}); import needs an empty store"
        )
    count = 0
    batch: list[tuple[int, str, int, str, bytes]] = []
    for row in _rows(lines):
        batch.append(row)
        if len(batch) >= BATCH:
            count += _insert(log, batch)
            progress(len(batch))
            batch = []
    if batch:
        count += _insert(log, batch)
        progress(len(batch))
    if log.is_postgres and count:
        _advance_sequence(log)
    return count


def _insert(log: EventLog, rows: list[tuple[int, str, int, str, bytes]]) -> int:
    datastore: Any = log.recorder.datastore
    if log.is_postgres:
        with datastore.transaction(commit=True) as curs:
            # The same lock the recorder takes, so positions still commit in order.
            curs.execute(f"LOCK TABLE {log.table} IN EXCLUSIVE MODE")
            curs.executemany(
                f"INSERT INTO {log.table} (notification_id, originator_id, originator_version, topic, state) "
                "VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
    else:
        with datastore.transaction(commit=True) as curs:
            curs.executemany(
                f"INSERT INTO {log.table} (rowid, originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
    return len(rows)


def _advance_sequence(log: EventLog) -> None:
    """New events after an import continue above the highest imported position."""
    datastore: Any = log.recorder.datastore
    with datastore.transaction(commit=True) as curs:
        curs.execute(
            f"SELECT setval(pg_get_serial_sequence('{log.table}', 'notification_id'), "
            f"(SELECT MAX(notification_id) FROM {log.table}))"
        )
