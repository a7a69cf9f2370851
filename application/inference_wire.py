"""What the inference use cases put on the wire: task records, channel frames, routing, errors."""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from domain.inference_task import InferenceTask
from domain.timestamps import iso
from projections import inference_queries


class Bus(Protocol):
    def publish(self, key: str, message: dict[str, Any]) -> None: ...


def task_record(task: InferenceTask, position: int) -> dict[str, Any]:
    """The wire record of the aggregate (the same builder the view's reads use)."""
    return inference_queries.task_record(
        id=task.id,
        status=task.status,
        pool_name=task.pool_name,
        llm_name=task.llm_name,
        model=task.model,
        tier=task.tier,
        claimed_by=task.claimed_by,
        request_body=task.request_body,
        response_body=task.response_body,
        error_message=task.error_message,
        streaming=task.streaming,
        created_at=iso(task.created_at),
        claimed_at=iso(task.claimed_at),
        stream_started_at=iso(task.stream_started_at),
        completed_at=iso(task.completed_at),
        owner_id=task.owner_id,
        agent_id=task.agent_id,
        position=position,
    )


def pick_of_pool(llms: builtins.list[dict[str, Any]]) -> dict[str, Any] | None:
    """The LLM a request for a pool goes to: a bound one first, then an active one, by name."""
    ranked = sorted(llms, key=lambda llm: (not llm["bound"], llm["status"] != "active", llm["name"]))
    return ranked[0] if ranked else None


def task_frame(task: InferenceTask) -> dict[str, Any]:
    """What a worker receives on its channel for a task it claimed."""
    return {
        "taskId": task.id,
        "llmName": task.llm_name,
        "poolName": task.pool_name,
        "model": task.model,
        "request": task.request_body,
        "streaming": task.streaming,
    }


def error_of(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return "the worker reported an error"
