"""Screenshots of every console page at 1280×800 into docs/console/ (run by hand, not in the suite).

    .venv/bin/python -m tests.support.screenshots

Starts a throwaway SQLite server, fills it with a little of everything over the API, logs in
with Debian's chromium and saves one PNG per page.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.server import Api, Server, token_of, unique

OUT = Path(__file__).resolve().parents[2] / "docs" / "console"
CHROMIUM = "/usr/bin/chromium"


def seed(admin: Api, runner: Api, worker: Api) -> str:
    """Sessions in every state, queue tasks, a worker with LLMs, inference tasks; the busy session."""
    prompts = [
        "Fix the flaky login test",
        "Refactor the billing module",
        "Write the release notes",
        "Upgrade psycopg",
    ]
    busy = ""
    for i, prompt in enumerate(prompts):
        session = unique("sess")
        run = admin.create_run(session_id=session, backendProfile=["codex", "claude"][i % 2])
        cmd = admin.ok(
            admin.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {"prompt": prompt}}), 201
        )
        if i == 3:
            continue
        runner.ok(runner.post(f"/runs/{run['id']}/claim", {"runnerId": "runner-1", "leaseMs": 600000}))
        runner.ok(runner.post(f"/runs/{run['id']}/backend", {"backendId": "gpu-a", "cacheKey": "k1"}))
        events = [
            {"type": "backend_status", "payload": {"text": "cloning repository"}},
            {"type": "assistant_message", "payload": {"text": f"Looking into: {prompt.lower()}."}},
            {"type": "command_output", "payload": {"text": "pytest -q: 212 passed"}},
            {"type": "diff", "payload": {"text": "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@"}},
        ]
        runner.ok(runner.post(f"/runs/{run['id']}/events:batch", {"events": events}), 201)
        if i == 0:
            busy = session
            continue
        runner.ok(runner.post(f"/commands/{cmd['id']}/finish", {"terminalStatus": "completed"}))
        if i == 2:
            admin.ok(admin.post(f"/sessions/{session}/read", {"readerId": "admin-principal"}))
    for i in range(12):
        admin.ok(
            admin.post(
                "/queue/tasks",
                {
                    "tenantId": "tenant-a",
                    "projectId": "proj",
                    "queue": "builds",
                    "lane": ["fast", "slow"][i % 2],
                    "priority": i % 4,
                    "payload": {"n": i},
                },
            ),
            201,
        )
    worker.ok(
        worker.post(
            "/workers",
            {
                "workerId": "gpu-box-1",
                "providers": [
                    {"name": "llama-70b", "model": "llama-3.3-70b", "poolName": "llama"},
                    {"name": "qwen-32b", "model": "qwen2.5-32b", "hibernating": True},
                ],
            },
        )
    )
    for _ in range(3):
        admin.ok(admin.post("/inference-tasks", {"llmName": "llama-70b", "request": {"messages": []}}), 202)
    return busy


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server("sqlite", Path(tmp)).start()
        try:
            busy = seed(server.client("admin"), server.client("runner"), server.client("worker"))
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.on("console", lambda m: print("console:", m.type, m.text) if m.type == "error" else None)
                page.goto(server.base_url + "/ui")
                page.screenshot(path=str(OUT / "login.png"))
                page.fill("#token", token_of("admin"))
                page.click("#login-form button")
                page.wait_for_selector("#session-list table")
                shots = [
                    ("sessions", "#session-list table"),
                    (f"sessions/{busy}", "#trace li"),
                    ("queue", "#queue-top table"),
                    ("inference", "#inference-tasks table"),
                    ("events", "#tail tr"),
                    ("projections", "#projections table"),
                    ("api", "#reference .card"),
                ]
                for route, ready in shots:
                    page.goto(f"{server.base_url}/ui#/{route}")
                    page.wait_for_selector(ready)
                    if route == "events":
                        page.click("#tail tr:has-text('Session.VersionBumped') a")
                        page.wait_for_selector("#audit-version")
                    page.wait_for_timeout(300)
                    name = "session" if route.startswith("sessions/") else route
                    page.screenshot(path=str(OUT / f"{name}.png"))
                    print("saved", OUT / f"{name}.png")
                browser.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
