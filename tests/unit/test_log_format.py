"""Log records as lines (ADR 0040): a background failure and a record inside a request."""

from __future__ import annotations

import io
import logging
import sys

import orjson
import pytest

from infrastructure import event_metadata
from infrastructure.event_metadata import EventMetadata
from interfaces.logs import FIELDS, JsonFormatter, LineWriter, TextFormatter
from tests.support.waiting import wait_for


def record(message: str, exc_info: bool = False, **fields: object) -> logging.LogRecord:
    info = sys.exc_info() if exc_info else None
    made = logging.LogRecord("infrastructure.projection_runner", logging.ERROR, "f.py", 1, message, (), info)
    if fields:
        setattr(made, FIELDS, fields)
    return made


def test_a_background_failure_is_one_json_line_with_its_error_and_no_request() -> None:
    try:
        raise RuntimeError("fold failed")
    except RuntimeError:
        line = JsonFormatter().format(record("projection %s stalled", exc_info=True))
    assert "\n" not in line
    parsed = orjson.loads(line)
    assert parsed["level"] == "error" and parsed["logger"] == "infrastructure.projection_runner"
    assert parsed["error"] == {"type": "RuntimeError", "message": "fold failed"}
    assert "RuntimeError" in parsed["traceback"]
    assert "requestId" not in parsed and "principal" not in parsed


def test_a_record_inside_a_request_carries_its_id_and_caller_and_fields() -> None:
    token = event_metadata.begin(EventMetadata("alice", "req-1"))
    try:
        json_line = orjson.loads(JsonFormatter().format(record("GET /x 200", route="/x", status=200)))
        text_line = TextFormatter().format(record("GET /x 200", route="/x", status=200))
    finally:
        event_metadata.end(token)
    assert json_line["requestId"] == "req-1" and json_line["principal"] == "alice"
    assert json_line["route"] == "/x" and json_line["status"] == 200
    assert text_line.endswith("GET /x 200 route=/x status=200")


def test_the_level_drops_the_request_lines_below_it_and_keeps_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from interfaces.logs import configure

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure("json", "warning")
        logging.getLogger("agentrun.request").info("GET /x 200")
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("infrastructure.projection_runner").warning("projection stalled")
        lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [(line["logger"], line["message"]) for line in lines] == [
            ("infrastructure.projection_runner", "projection stalled")
        ]
        configure("json", "info")
        logging.getLogger("agentrun.request").info("GET /x 200")
        root.handlers[0].flush()
        assert orjson.loads(capsys.readouterr().err)["message"] == "GET /x 200"
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_the_writer_keeps_the_order_and_writes_a_warning_at_once() -> None:
    stream = io.StringIO()
    writer = LineWriter(stream, TextFormatter(), interval=60)  # only a warning or close writes here
    log = logging.getLogger("test.line_writer")
    log.propagate, log.handlers = False, [writer]
    log.setLevel(logging.INFO)
    try:
        for n in range(3):
            log.info("line %d", n)
        assert stream.getvalue() == ""
        log.warning("careful")
        assert [line.split(": ", 1)[1] for line in stream.getvalue().splitlines()] == [
            "line 0",
            "line 1",
            "line 2",
            "careful",
        ]
    finally:
        log.handlers = []
        writer.close()


def test_the_writer_thread_writes_info_lines_soon() -> None:
    stream = io.StringIO()
    writer = LineWriter(stream, TextFormatter(), interval=0.01)
    try:
        writer.handle(logging.LogRecord("agentrun.request", logging.INFO, "f.py", 1, "GET /x 200", (), None))
        assert wait_for(lambda: stream.getvalue().endswith("GET /x 200\n"), 5)
    finally:
        writer.close()


def test_closing_the_writer_writes_what_is_pending() -> None:
    stream = io.StringIO()
    writer = LineWriter(stream, TextFormatter(), interval=60)
    record = logging.LogRecord("agentrun.request", logging.INFO, "f.py", 1, "GET /x 200", (), None)
    writer.handle(record)
    assert stream.getvalue() == ""
    writer.close()
    assert stream.getvalue().rstrip().endswith("GET /x 200")
