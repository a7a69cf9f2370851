"""Handlers of runs, run events, runners and runner jobs."""

from __future__ import annotations

from typing import Any

from interfaces.http import limits
from interfaces.http.endpoint import Call, page
from interfaces.http.runs.models import RunnerJobQuery
from interfaces.http.wire import SeqPageQuery


def create_run(call: Call) -> tuple[int, Any]:
    b = call.body
    session_ref = (
        b.session_ref.model_dump(mode="json", by_alias=True, exclude_none=True) if b.session_ref else None
    )
    run = call.app.runs.create(
        call.principal,
        tenant_id=b.tenant_id,
        project_id=b.project_id,
        backend_profile=b.backend_profile,
        session_ref=session_ref,
        resource_bundle_ref=b.resource_bundle_ref,
    )
    return 201, run


def get_run(call: Call) -> Any:
    return call.app.runs.get(call.principal, call.path["runId"])


def claim_run(call: Call) -> Any:
    return call.app.runs.claim(call.principal, call.path["runId"], call.body.runner_id, call.body.lease_ms)


def heartbeat_run(call: Call) -> Any:
    b = call.body
    return call.app.runs.heartbeat(call.principal, call.path["runId"], b.runner_id, b.claim_epoch, b.lease_ms)


def finish_run(call: Call) -> Any:
    b = call.body
    return call.app.runs.finish(call.principal, call.path["runId"], b.outcome(), b.claim_epoch)


def cancel_run(call: Call) -> Any:
    return call.app.runs.cancel(call.principal, call.path["runId"], call.body.reason)


def append_event(call: Call) -> tuple[int, Any]:
    event = call.body.model_dump(by_alias=True)
    (appended,) = call.app.run_events.append(call.principal, call.path["runId"], [event])
    return 201, appended


def append_events(call: Call) -> tuple[int, Any]:
    events = [e.model_dump(by_alias=True) for e in call.body.events]
    appended = call.app.run_events.append(call.principal, call.path["runId"], events)
    return 201, {"items": appended, "count": len(appended), "position": appended[-1]["position"]}


def after_seq(call: Call, model: type[SeqPageQuery] = SeqPageQuery) -> tuple[int, int]:
    """`afterSeq`, or the `cursor` a previous page returned (which is a seq)."""
    q = call.query(model)
    if q.cursor is None:
        return q.after_seq, q.limit
    return limits.bounded_int(q.cursor, "cursor"), q.limit


def list_events(call: Call) -> Any:
    start, limit = after_seq(call)
    items, next_seq = call.app.run_events.page(call.principal, call.path["runId"], start, limit)
    return page(items, next_seq)


def register_runner(call: Call) -> Any:
    runner, _created = call.app.runners.register(call.principal, call.body.id, call.body.labels or {})
    return runner


def record_runner_job(call: Call) -> tuple[int, Any]:
    job, created = call.app.runners.record_job(
        call.principal, call.path["runId"], call.body.model_dump(by_alias=True)
    )
    return (201 if created else 200), job


def list_runner_jobs(call: Call) -> Any:
    q = call.query(RunnerJobQuery)
    items = call.app.runners.jobs(call.principal, call.path["runId"], q.command_id)
    return {"items": items, "count": len(items)}
