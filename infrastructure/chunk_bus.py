"""Fan-out of inference task messages (chunks, status changes) to asyncio subscribers, across replicas.

In one process a message goes straight to the subscribers' queues; on PostgreSQL it also goes out by
NOTIFY and every other replica's listener delivers it to its own subscribers. Messages are wake-ups
plus chunk data: a lost one delays a waiter until its timer re-reads the store, it never loses state.

A replica with no other replica listening sends no NOTIFY at all (ADR 0037): it learns of its peers
from PostgreSQL's session list (listeners by application name) every `PEER_CHECK` seconds, and at
once from the hello each replica sends when its listener (re)connects, before it could have a
subscriber that needs another replica's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson
import psycopg

from infrastructure.database import Database, connect_postgres
from infrastructure.signals import PostgresListener

log = logging.getLogger(__name__)

CHANNEL = "agentrun_inference"
ALL = "*"
# Streams whose chunks are remembered, so a caller that joins late (an idempotent retry) replays them.
RECENT_STREAMS = 256
MAX_REPLAY_CHUNKS = 4096
# NOTIFY payloads are limited to 8000 bytes; larger messages travel in parts.
MAX_PAYLOAD = 7800
# Terminal messages remembered for late subscribers (a waiter subscribing just after the result).
RECENT_TERMINAL = 4096
# NOTIFYs sent per round trip at most.
NOTIFY_BATCH = 200
# How often the sender looks for other replicas' listeners (seconds).
PEER_CHECK = 1.0


class Subscription:
    """One subscriber's queue of messages for a key, fed from any thread.

    `accept`, when given, picks the published messages the subscriber wants, in the publisher's
    thread: the others never wake its event loop (a channel of `*` wants few of them)."""

    def __init__(
        self,
        bus: ChunkBus,
        key: str,
        loop: asyncio.AbstractEventLoop,
        accept: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self.bus = bus
        self.key = key
        self.loop = loop
        self.accept = accept
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def put(self, message: dict[str, Any]) -> None:
        # A closed loop means the subscriber is gone.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, message)

    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next message, or None after `timeout` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def drain(self) -> list[dict[str, Any]]:
        items = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        return items

    def close(self) -> None:
        self.bus.unsubscribe(self)


class ChunkBus:
    """Publish a message under a key (a task id); subscribers of the key and of `*` receive it."""

    def __init__(self, db: Database, listener: PostgresListener | None) -> None:
        self.db = db
        self.remote = listener is not None
        self._listener = listener
        # Whether another replica listens: assumed until the sender has looked. `_hellos` counts the
        # hellos heard, so a look that began before one cannot undo what it said.
        self._peers = True
        self._hellos = 0
        self._peers_checked = 0.0
        self.replica = uuid.uuid4().hex[:12]
        self._subs: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._parts: dict[str, list[str]] = {}
        self._terminal: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # None marks a stream too long to replay from its start.
        self._chunks: OrderedDict[str, list[dict[str, Any]] | None] = OrderedDict()
        # Own messages come back from the listener; recognised by their prefix without parsing.
        self._own_prefix = orjson.dumps({"r": self.replica}).decode()[:-1]
        # One thread with a connection of its own sends every NOTIFY: one order, batched round trips.
        self._conn: Any = None
        self._conn_lock = threading.Lock()
        self._outbox: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._sender: threading.Thread | None = None
        self._sequence = itertools.count()
        if listener is not None:
            listener.subscribe(CHANNEL, self._on_notify)
            listener.on_connect(self._hello)

    @property
    def peers(self) -> bool:
        """Whether messages go out by NOTIFY: another replica listens (or the sender is unsure)."""
        return self.remote and self._peers

    def subscribe(
        self, key: str, replay: bool = False, accept: Callable[[dict[str, Any]], bool] | None = None
    ) -> Subscription:
        """Subscribe from inside the event loop the subscriber awaits on (`accept`: see `Subscription`).

        With `replay`, the chunks of the key delivered so far come first, in order and none twice,
        then a `replayed` message saying whether they were all kept.
        """
        sub = Subscription(self, key, asyncio.get_running_loop(), accept)
        with self._lock:
            self._subs.setdefault(key, set()).add(sub)
            terminal = self._terminal.get(key)
            if replay:
                # `complete` is None when nothing of the stream was seen here (not started, or forgotten).
                chunks = self._chunks.get(key)
                for chunk in chunks or ():
                    sub.put(chunk)
                complete = None if key not in self._chunks else chunks is not None
                sub.put({"type": "replayed", "key": key, "complete": complete})
        if terminal is not None:
            # Published before this subscription: the subscriber may have read the task earlier.
            sub.put(terminal)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.key]

    def publish(self, key: str, message: dict[str, Any]) -> None:
        """Deliver in process now; other replicas get it from the sender thread, in publish order."""
        self._deliver(key, message)
        if self.peers:
            body = orjson.dumps(message).decode()
            envelope = orjson.dumps({"r": self.replica, "s": next(self._sequence), "k": key, "m": body})
            payloads = [envelope.decode()] if len(envelope) <= MAX_PAYLOAD else self._split(key, body)
            self._ensure_sender()
            self._outbox.put(payloads)

    def _hello(self) -> None:
        """Our listener is (re)connected: tell the other replicas to send to us, and look for them."""
        self._peers, self._peers_checked = True, 0.0
        self._ensure_sender()
        self._outbox.put([orjson.dumps({"r": self.replica, "hello": True}).decode()])

    def _ensure_sender(self) -> None:
        with self._conn_lock:
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_loop, name="task-bus", daemon=True)
                self._sender.start()

    def _deliver(self, key: str, message: dict[str, Any]) -> None:
        message = {**message, "key": key}
        with self._lock:
            subs = [*self._subs.get(key, ()), *self._subs.get(ALL, ())] if key != ALL else []
            if message.get("type") == "chunk" or message.get("status") == "running":
                self._remember_chunk(key, message)
            if "record" in message:
                self._terminal[key] = message
                while len(self._terminal) > RECENT_TERMINAL:
                    self._terminal.popitem(last=False)
        for sub in subs:
            if sub.accept is None or sub.accept(message):
                sub.put(message)

    def _remember_chunk(self, key: str, message: dict[str, Any]) -> None:
        """Keep the chunk for late joiners of the stream (under the lock, with the delivery).

        A history starts at the task's move to `running`, announced before its first chunk: chunks
        of a stream seen only from its middle (a replica started since, an evicted entry) are
        marked as not replayable from the start.
        """
        chunks = self._chunks.get(key)
        if message.get("type") != "chunk" or chunks is None:
            self._chunks[key] = [] if message.get("type") != "chunk" else None
            self._chunks.move_to_end(key)
            while len(self._chunks) > RECENT_STREAMS:
                self._chunks.popitem(last=False)
            return
        chunks.append(message)
        if len(chunks) > MAX_REPLAY_CHUNKS:
            self._chunks[key] = None

    def _send_loop(self) -> None:
        """Send queued NOTIFYs, many per round trip: the publisher never waits for PostgreSQL."""
        while True:
            try:
                batch = [self._outbox.get(timeout=PEER_CHECK)]
            except queue.Empty:
                batch = []
            if time.monotonic() - self._peers_checked >= PEER_CHECK:
                self._check_peers()
            while len(batch) < NOTIFY_BATCH:
                try:
                    batch.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            if not batch:
                continue
            payloads = [p for item in batch if item is not None for p in item]
            if payloads:
                try:
                    self._send(payloads)
                except Exception:  # noqa: BLE001 - a lost message only delays waiters until their poll
                    log.warning("could not NOTIFY %d task messages", len(payloads), exc_info=True)
            if stop:
                return

    def _send(self, payloads: list[str]) -> None:
        for attempt in range(2):
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = connect_postgres(getattr(self.db, "conninfo", ""))
                # One statement: the notifications go out in array order, in one transaction (where
                # identical payloads would collapse into one: each envelope carries a sequence number).
                sql = "SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p"
                self._conn.execute(sql, (CHANNEL, payloads))
                return
            except psycopg.OperationalError:
                self._close()
                if attempt:
                    raise

    def _check_peers(self) -> None:
        """Whether another replica's listener is connected to this database (on doubt: yes)."""
        hellos, own = self._hellos, self._listener.backend_pid if self._listener is not None else None
        self._peers_checked = time.monotonic()
        try:
            if own is None:
                raise LookupError("our listener is not connected")
            if self._conn is None or self._conn.closed:
                self._conn = connect_postgres(getattr(self.db, "conninfo", ""))
            row = self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = %s AND pid <> %s)",
                (PostgresListener.APPLICATION_NAME, own),
            ).fetchone()
            peers = bool(row and row[0])
        except Exception:  # noqa: BLE001 - keep sending while unsure
            self._close()
            peers = True
        if peers or self._hellos == hellos:
            self._peers = peers

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._conn_lock:
            sender, self._sender = self._sender, None
        if sender is not None:
            self._outbox.put(None)
            sender.join(timeout=5)
        self._close()

    def _split(self, key: str, body: str) -> list[str]:
        message_id = uuid.uuid4().hex[:12]
        size = 1800  # characters: at most 4 bytes each, escaped at most 6 bytes each below the limit
        while True:
            pieces = [body[i : i + size] for i in range(0, len(body), size)]
            payloads = [
                orjson.dumps(
                    {"r": self.replica, "k": key, "id": message_id, "i": n, "n": len(pieces), "p": p}
                )
                for n, p in enumerate(pieces)
            ]
            if all(len(p) <= MAX_PAYLOAD for p in payloads):
                return [p.decode() for p in payloads]
            size //= 2

    def _on_notify(self, payload: str) -> None:
        if payload.startswith(self._own_prefix):
            return  # delivered locally already
        envelope = orjson.loads(payload)
        if "hello" in envelope:
            self._hellos += 1
            self._peers = True
            return
        key = envelope["k"]
        if "m" in envelope:
            self._deliver(key, orjson.loads(envelope["m"]))
            return
        parts = self._parts.setdefault(envelope["id"], [""] * envelope["n"])
        parts[envelope["i"]] = envelope["p"]
        if envelope["i"] == envelope["n"] - 1:
            # Parts of one message come from one publisher in order; the last one completes it.
            del self._parts[envelope["id"]]
            self._deliver(key, orjson.loads("".join(parts)))
