"""Handlers of commands."""

from __future__ import annotations

from typing import Any

from interfaces.http.commands.models import CommandPageQuery
from interfaces.http.endpoint import Call, page
from interfaces.http.runs.handlers import after_seq


def create_command(call: Call) -> tuple[int, Any]:
    b = call.body
    command, created = call.app.commands.create(
        call.principal,
        call.path["runId"],
        command_type=b.type,
        payload=b.payload,
        idempotency_key=b.idempotency_key,
    )
    return (201 if created else 200), command


def list_commands(call: Call) -> Any:
    start, limit = after_seq(call, CommandPageQuery)
    items, next_seq = call.app.commands.page(call.principal, call.path["runId"], start, limit)
    return page(items, next_seq)


def get_command(call: Call) -> Any:
    return call.app.commands.get(call.principal, call.path["commandId"])


def ack_command(call: Call) -> Any:
    return call.app.commands.acknowledge(call.principal, call.path["commandId"])


def finish_command(call: Call) -> Any:
    return call.app.commands.finish(call.principal, call.path["commandId"], call.body.outcome())


def cancel_command(call: Call) -> Any:
    return call.app.commands.cancel(call.principal, call.path["commandId"], call.body.reason)
