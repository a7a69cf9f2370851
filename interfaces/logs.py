"""The server's log: every record one JSON line (or one text line), with the request's id and caller.

`agentrun serve` and every uvicorn worker process call `configure` (ADR 0040). A record logged
while a request is current carries its `requestId` and `principal`; a background failure (the
projection runner, the sweeper, the listener, the leader lock, the database probe) carries its
logger's name and, when it has one, the exception. Records never carry bodies, queries or headers:
the request line names the route template, not the path.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, TextIO

import orjson

from infrastructure import event_metadata
from infrastructure.settings import LogFormat, LogLevel

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The attribute a record's structured fields travel in (`log.info(..., extra={FIELDS: {...}})`).
FIELDS = "fields"
_SECONDS = "%Y-%m-%dT%H:%M:%S"


class JsonFormatter(logging.Formatter):
    """One JSON object a record: time, level, logger, message, the request context, its fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime(_SECONDS, time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = event_metadata.current()
        if current.request_id is not None:
            line["requestId"] = current.request_id
            line["principal"] = current.actor
        line.update(getattr(record, FIELDS, None) or {})
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = {"type": type(error).__name__, "message": str(error)}
            line["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["traceback"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """A readable line: time, level, logger, message, then the record's fields as `key=value`."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, FIELDS, None)
        if not fields:
            return text
        return text + " " + " ".join(f"{key}={value}" for key, value in fields.items())


class LineWriter(logging.Handler):
    """Formats a record where it is logged; writes the lines from a thread of its own, many a write.

    A write to stderr releases the GIL, and the event loop then waits behind the handler threads to
    get it back: a write per request line cost a loaded server 60 to 110 µs of CPU per request and
    a sixth of its throughput (ADR 0040). Lines go out in the order logged, at most `interval` after;
    a record of `WARNING` or above is written at once, with the lines before it, before the call
    that logged it returns. A process that exits writes what is pending (`logging.shutdown` flushes
    every handler); one killed outright loses at most the last `interval` of info lines.
    """

    def __init__(self, stream: TextIO, formatter: logging.Formatter, interval: float = 0.05) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.stream = stream
        self.interval = interval
        self._pending: list[str] = []
        self._wake = threading.Event()
        self._closed = False
        threading.Thread(target=self._run, name="log-writer", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - logging's own convention: report, never raise
            self.handleError(record)
            return
        self._pending.append(line)  # under the handler's lock (`Handler.handle`)
        if record.levelno >= logging.WARNING:
            self.flush()
        elif not self._wake.is_set():
            self._wake.set()

    def flush(self) -> None:
        # Under the handler's lock, as a StreamHandler writes: emit holds it when it flushes a warning.
        with self.lock:  # type: ignore[union-attr]  # Handler.__init__ made it
            lines, self._pending = self._pending, []
            if lines:
                self.stream.write("".join(lines))
                self.stream.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.flush()
        super().close()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            time.sleep(self.interval)  # what comes meanwhile goes in the same write
            self._wake.clear()
            try:
                self.flush()
            except (OSError, ValueError):  # stderr closed or gone: nowhere to write, nor to report it
                with self.lock:  # type: ignore[union-attr]
                    self._pending.clear()


def configure(log_format: LogFormat, level: LogLevel = "info") -> None:
    """Send every record (uvicorn's too) of `level` and above to stderr in `log_format`; safe to call
    again. The request lines are at `info`: a higher level drops them (and their cost)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if isinstance(handler, LineWriter):
            handler.close()
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    root.addHandler(LineWriter(sys.stderr, formatter))
    root.setLevel(level.upper())
    # No line shows them: not gathering them takes a third off each record's cost.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # uvicorn's loggers pass their records to ours; its access log is replaced by the request log.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
        logging.getLogger(name).setLevel(logging.NOTSET)  # the root's level decides
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
