"""Every operation of `/openapi.json`, fuzzed by schemathesis against the real server (ADR 0033).

Valid and invalid requests, generated from the description with a fixed seed and a bounded number
per operation, as an admin (valid ones aimed at a run, session, command, queue task, worker and
inference task made first): no response is a 5xx other than the documented 503/504, every error is
the envelope (OpenAI's under `/v1`), every answer matches the status, content type and schema the
description gives it. SSE routes are left out (a stream never ends by itself): their query and
header limits have tests of their own. Waits are short: reads wait 0.02 s for the views, and the
routes that wait for a worker may time out after 1 s. SQLite in the suite; by hand,
`AGENTRUN_FUZZ_BACKEND=postgres`, `AGENTRUN_FUZZ_EXAMPLES=50`, `AGENTRUN_FUZZ_SEED=7` dig further.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.postgres import throwaway_database
from tests.support.server import Server, token_of, unique

# Timing-sensitive load: kept on one xdist worker with the other heavy tests (ADR 0041).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("heavy-a")]

SEED = int(os.environ.get("AGENTRUN_FUZZ_SEED", "20261201"))
# Per operation and mode (valid, invalid): ~700 requests in all. `AGENTRUN_FUZZ_EXAMPLES` digs deeper.
EXAMPLES_PER_MODE = int(os.environ.get("AGENTRUN_FUZZ_EXAMPLES", "6"))
DOCUMENTED_5XX = {503, 504}
REQUEST_TIMEOUT = 5.0
# Routes that rightly wait for a worker (the fuzzer learns the registered LLM's name from answers):
# no answer within LONG_POLL_TIMEOUT is the wait, not a hang.
LONG_POLLS = {
    "POST /v1/chat/completions",
    "POST /api/v1/llms/{name}/infer",
    "GET /api/v1/inference-tasks/{taskId}",
}
LONG_POLL_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: what the fuzzer creates must not disturb the shared servers' tests."""
    data_dir = tmp_path_factory.mktemp("fuzz")
    env = {"AGENTRUN_READ_TIMEOUT": "0.02"}
    if os.environ.get("AGENTRUN_FUZZ_BACKEND") == "postgres":
        with throwaway_database() as url:
            srv = Server("postgres", data_dir, database_url=url, extra_env=env).start()
            yield srv
            srv.stop()
        return
    srv = Server("sqlite", data_dir, extra_env=env).start()
    yield srv
    srv.stop()


def existing_ids(server: Server) -> dict[str, str]:
    """One of each resource, so valid requests reach the handlers and the store, not just a 404."""
    api = server.client("admin")
    session_id = unique("fuzz-session")
    run = api.create_run(session_id=session_id)
    command = api.ok(api.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {}}), 201)
    task = {"tenantId": "tenant-a", "projectId": "p", "queue": "q", "lane": "l", "priority": 0, "payload": {}}
    queue_task = api.ok(api.post("/queue/tasks", task), 201)
    llm = unique("fuzz-llm")
    worker = api.ok(api.post("/workers", {"providers": [{"name": llm, "model": "m"}]}))
    inference = api.ok(api.post("/inference-tasks", {"llmName": llm, "request": {}}), 202)
    # Finished, so `waitMs` on it answers at once instead of long-polling for a worker.
    api.ok(api.http.delete(f"/inference-tasks/{inference['id']}"))
    return {
        "runId": run["id"],
        "aggregateId": run["id"],
        "sessionId": session_id,
        "commandId": command["id"],
        "queue-taskId": queue_task["id"],
        "inference-taskId": inference["id"],
        "workerId": worker["workerId"],
        "name": llm,
    }


def path_parameters(operation: Any, ids: dict[str, str]) -> dict[str, str]:
    names = [p.name for p in operation.path_parameters]
    kind = "queue-" if "/queue/" in operation.path else "inference-"
    return {n: ids.get(n) or ids[kind + n] for n in names if n in ids or kind + n in ids}


def streams(operation: Any) -> bool:
    responses = operation.definition.raw.get("responses", {})
    return any("text/event-stream" in (r.get("content") or {}) for r in responses.values())


def in_error_shape(path: str, response: requests.Response) -> bool:
    """The envelope; under `/v1` OpenAI's `{"error": {"message", "type", ...}}`."""
    try:
        body = response.json()
        error = body["error"]
        if path.startswith("/v1/"):
            return isinstance(error, dict) and {"message", "type"} <= set(error)
        return set(body) == {"error"} and set(error) == {"kind", "message", "details"}
    except (ValueError, TypeError, KeyError):
        return False


def problems_of(case: Any, response: requests.Response) -> list[str]:
    """What is wrong with one answer; empty when nothing is."""
    found: list[str] = []
    status = response.status_code
    if status >= 500 and status not in DOCUMENTED_5XX:
        found.append(f"status {status}")
    path = case.operation.path
    if status >= 400 and path != "/healthz" and not in_error_shape(path, response):
        found.append(f"status {status} without the error envelope")
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    try:
        case.validate_response(response, checks=checks)
    except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - each failed check is a problem
        found.append(_first_lines(failure))
    return [f"{case.operation.label} -> {status}: {p}\n    {case.as_curl_command()}"[:2000] for p in found]


def _first_lines(failure: BaseException) -> str:
    lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
    return " | ".join(lines[:4]) or repr(failure)


def test_no_generated_request_gets_an_undocumented_answer(fuzz_server: Server) -> None:
    spec = httpx.get(fuzz_server.base_url + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    session = requests.Session()
    auth = {"Authorization": f"Bearer {token_of('admin')}"}
    ids = existing_ids(fuzz_server)
    problems: list[str] = []
    calls = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the description has an invalid operation: {result}"
        operation = result.ok()
        if streams(operation):
            continue
        # Valid requests go to resources that exist; invalid ones anywhere.
        passes = [(GenerationMode.POSITIVE, path_parameters(operation, ids)), (GenerationMode.NEGATIVE, None)]
        for mode, fixed in passes:

            @seed(SEED)
            @settings(
                max_examples=EXAMPLES_PER_MODE,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            def call(case: Any) -> None:
                nonlocal calls
                calls += 1
                long_poll = case.operation.label in LONG_POLLS
                timeout = LONG_POLL_TIMEOUT if long_poll else REQUEST_TIMEOUT
                try:
                    response = case.call(
                        base_url=fuzz_server.base_url, session=session, headers=auth, timeout=timeout
                    )
                except requests.Timeout:
                    if not long_poll:
                        problems.append(f"{case.operation.label}: no answer in {timeout} s")
                    return
                problems.extend(problems_of(case, response))

            try:
                call()
            except Unsatisfiable:
                # Nothing to make invalid (no parameters, no body): the positive run covers it.
                assert mode is GenerationMode.NEGATIVE, operation.label
    elapsed = time.monotonic() - started
    print(f"fuzzed {calls} requests in {elapsed:.1f} s")
    assert calls > 0
    report = "\n".join(sorted(set(problems)))
    assert not problems, f"{len(problems)} of {calls} answers were wrong:\n{report}"
