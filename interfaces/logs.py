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
import time
from typing import Any

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


def configure(log_format: LogFormat, level: LogLevel = "info") -> None:
    """Send every record (uvicorn's too) of `level` and above to stderr in `log_format`; safe to call
    again. The request lines are at `info`: a higher level drops them (and their cost)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
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
