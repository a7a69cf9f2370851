"""The store of record: an eventsourcing application over PostgreSQL or SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError, Mapper, Notification, Recording, Transcoder
from psycopg.conninfo import conninfo_to_dict

from domain.base import Aggregate, DomainEvent
from domain.errors import ConcurrencyError
from infrastructure.aggregate_memory import AggregateMemory, WriterLocks
from infrastructure.aggregate_reads import Extra, PositionedReads, Read, snapshots_due, take_snapshots
from infrastructure.availability import Availability
from infrastructure.event_metadata import MetadataMapper, stamp
from infrastructure.group_commit import GroupCommit
from infrastructure.transcoder import OrjsonTranscoder


class AgentRunLog(Application[str]):
    """The one application whose recorder holds every event of agentrun."""

    name = "agentrun"

    def construct_transcoder(self) -> Transcoder:
        return OrjsonTranscoder()

    def construct_mapper(self) -> Mapper[str]:
        # Who caused each event (actor, request id) is stored beside its fields (ADR 0030).
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=MetadataMapper)

    def save(
        self,
        *objs: MutableOrImmutableAggregate[str] | DomainEventProtocol[str] | None,
        **kwargs: Any,
    ) -> list[Recording[str]]:
        """The library's `save`, for our aggregates without its `collect_events`, which tells an
        aggregate from an event by two runtime `Protocol` checks (~10 µs each) per object."""
        if kwargs or not all(isinstance(obj, Aggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        batch: ProcessingEvent[str] = ProcessingEvent()
        for aggregate in objs:
            assert isinstance(aggregate, Aggregate)
            batch.events.extend(aggregate.collect_events())
            batch.aggregates[aggregate.id] = aggregate
        recordings = self._record(batch)
        self._take_snapshots(batch)
        self._notify(recordings)
        return recordings


def sqlite_env(path: Path) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        # Another process holding the write lock longer than this is a 503 (ADR 0032).
        "SQLITE_LOCK_TIMEOUT": "5",
        "ORIGINATOR_ID_TYPE": "text",
        "AGGREGATE_CACHE_MAXSIZE": "1000",
        # Aggregates with a `snapshot_interval` are snapshotted by EventLog.save (ADR 0036).
        "IS_SNAPSHOTTING_ENABLED": "y",
    }


def postgres_env(database_url: str, pool_size: int) -> dict[str, str]:
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size * 3),
        "POSTGRES_PRE_PING": "y",
        # Seconds to wait for a pooled connection; FailFastRecorder slices and bounds it (ADR 0032).
        "POSTGRES_CONNECT_TIMEOUT": "2",
        "APPLICATION_RECORDER_TOPIC": "infrastructure.store_recorder:FailFastRecorder",
        "ORIGINATOR_ID_TYPE": "text",
        "AGGREGATE_CACHE_MAXSIZE": "1000",
        # Aggregates with a `snapshot_interval` are snapshotted by EventLog.save (ADR 0036).
        "IS_SNAPSHOTTING_ENABLED": "y",
    }


# Names "creating the event store's tables" among this database's advisory locks.
_TABLES_LOCK_KEY = 0x6167_656E_7474_626C


def _in_wal_mode(path: str) -> None:
    """Put a new SQLite file in WAL mode before the library opens it. Its first connection switches
    the file to WAL and leaves that PRAGMA's cursor unread; while the cursor lives, the commit that
    creates the tables fails ("cannot commit transaction - SQL statements in progress"), which a
    loaded test run met once. On a file already in WAL mode the library reads its PRAGMA's row."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL").fetchall()


@contextmanager
def _tables_created_alone(env: dict[str, str]) -> Iterator[None]:
    """Replicas starting together (`serve --workers N`) take turns at the library's CREATE TABLEs,
    which race on PostgreSQL's catalog otherwise."""
    if not env["PERSISTENCE_MODULE"].endswith("postgres"):
        yield
        return
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"] or None,
        connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        autocommit=True,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_TABLES_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_TABLES_LOCK_KEY,))


class EventLog:
    """Loads and saves aggregates, and reads the log in position order."""

    def __init__(
        self,
        env: dict[str, str],
        on_saved: Callable[[], None] = lambda: None,
        memory: int = 10_000,
        gate: Availability | None = None,
    ):
        self.is_postgres = env["PERSISTENCE_MODULE"].endswith("postgres")
        if not self.is_postgres:
            _in_wal_mode(env["SQLITE_DBNAME"])
        with _tables_created_alone(env):
            self.app = AgentRunLog(env=env)
        recorder: Any = self.app.recorder
        self.recorder = recorder
        if self.is_postgres:
            # Fails fast while the probe finds the database away (ADR 0032).
            recorder.gate = gate
        self.table: str = recorder.events_table_name
        # The library NOTIFYs a channel named after the table on every insert.
        self.channel = self.table.replace(".", "_")
        self._on_saved = on_saved
        # Every save of every aggregate, from every thread, shares transactions under load.
        self.group = GroupCommit(self._save_now)
        self.memory = AggregateMemory(memory)
        self.writing = WriterLocks().writing
        snapshots: Any = self.app.snapshots
        self.reads = PositionedReads(
            self._query,
            self.decode,
            self.table,
            snapshots.recorder.events_table_name,
            self._position_column,
            lambda aggregate: take_snapshots(self.app, [aggregate]),
        )

    def close(self) -> None:
        self.app.close()

    def get(self, aggregate_id: str, remembered: bool = False) -> Any:
        """The aggregate as of its last event, or None; `remembered`: what this replica last saved
        of it, if it holds it (no read; possibly stale, see `AggregateMemory`)."""
        if remembered:
            aggregate = self.memory.take(aggregate_id)
            if aggregate is not None:
                return aggregate
        try:
            return self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def save(self, *aggregates: Aggregate) -> list[int]:
        """Save the pending events of all the aggregates atomically; returns their positions.

        Saves that arrive while another is in flight go to the store together (group commit).
        """
        # In the caller's thread: the group's leader may be another caller, with another actor.
        stamp(event for aggregate in aggregates for event in aggregate.pending_events)
        due = snapshots_due(aggregates)
        try:
            positions = self.group.save(*aggregates)
        except BaseException:
            self.memory.forget(aggregates)
            raise
        self.memory.keep(aggregates)
        take_snapshots(self.app, due)
        return positions

    def read(self, aggregate_id: str, extra: Extra | None = None) -> Read:
        """An aggregate, the position of its last event and any `extra` versions, in one query."""
        return self.reads.read(aggregate_id, extra)

    def _save_now(self, *aggregates: Aggregate) -> list[int]:
        """One transaction for the pending events of these aggregates."""
        pending = [event for aggregate in aggregates for event in aggregate.pending_events]
        try:
            recordings = self.app.save(*aggregates)
        except IntegrityError as error:
            positions = self._already_stored(pending)
            if positions is None:
                raise ConcurrencyError("another writer saved first; reload and retry") from error
            self._on_saved()
            return positions
        self._on_saved()
        return [r.notification.id for r in recordings]

    def _already_stored(self, events: Sequence[Any]) -> list[int] | None:
        """The positions of exactly these events if the store holds them, else None.

        When the connection dies as a commit lands, the library retries the transaction and the
        retry collides with its own first attempt: that is our write, not a lost race.
        """
        positions = []
        for event in events:
            stored = self.app.mapper.to_stored_event(event)
            rows = self._query(
                f"SELECT {self._position_column} AS position, topic, state FROM {self.table} "
                "WHERE originator_id = ? AND originator_version = ?",
                (str(stored.originator_id), stored.originator_version),
            )
            if not rows or rows[0]["topic"] != stored.topic or bytes(rows[0]["state"]) != stored.state:
                return None
            positions.append(int(rows[0]["position"]))
        return positions

    def head(self) -> int:
        """The position of the newest committed event (0 when the log is empty)."""
        return int(self.recorder.max_notification_id() or 0)

    def notifications(self, after: int, limit: int, upto: int | None = None) -> Sequence[Notification]:
        found: Sequence[Notification] = self.recorder.select_notifications(
            start=after, limit=limit, stop=upto, inclusive_of_start=False
        )
        return found

    def decode(self, notification: Notification) -> DomainEvent:
        return self.app.mapper.to_domain_event(notification)  # type: ignore[return-value]

    def aggregate_events(self, aggregate_id: str, gt: int, lte: int) -> list[tuple[int, Any]]:
        """(position, event) of an aggregate's versions in (gt, lte], in version order."""
        rows = self._query(
            f"SELECT {self._position_column} AS position, originator_version, topic, state "
            f"FROM {self.table} WHERE originator_id = ? AND originator_version > ? "
            "AND originator_version <= ? ORDER BY originator_version",
            (aggregate_id, gt, lte),
        )
        return [
            (
                row["position"],
                self.decode(
                    Notification(
                        id=row["position"],
                        originator_id=aggregate_id,
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                ),
            )
            for row in rows
        ]

    def position_of(self, aggregate_id: str) -> int:
        """The position of an aggregate's last event (0 if it has none)."""
        rows = self._query(
            f"SELECT {self._position_column} AS position FROM {self.table} "
            "WHERE originator_id = ? ORDER BY originator_version DESC LIMIT 1",
            (aggregate_id,),
        )
        return int(rows[0]["position"]) if rows else 0

    @property
    def _position_column(self) -> str:
        return "notification_id" if self.is_postgres else "rowid"

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        datastore = self.recorder.datastore
        if self.is_postgres:
            return list(self.recorder.query(sql.replace("?", "%s"), params))
        with datastore.transaction(commit=False) as curs:
            curs.execute(sql, params)
            return list(curs.fetchall())
