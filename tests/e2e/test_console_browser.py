"""The console in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

One browser for the module and one server per backend; the servers are this module's own, as
one test restarts its server under an open page and another counts every session of tenant-b.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import Api, Server, token_of, unique

CHROMIUM = Path("/usr/bin/chromium")
# Outside CI a machine without chromium skips; CI installs it (.ci/run), so there it must run.
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
    ),
    pytest.mark.xdist_group("heavy-b"),  # timing-sensitive: with the other heavy tests (ADR 0041)
]

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def console_server(module_server: Server) -> Server:
    """This module's own server on the test's backend (`module_server`, started once per worker)."""
    return module_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


def open_console(browser: Any, server: Server, role: str) -> Any:
    """A fresh browser context logged in through the login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(server.base_url + "/")  # a browser asking for / lands on /ui
    page.fill("#token", token_of(role))
    page.click("#login-form button")
    page.wait_for_selector("#session-list table, #session-list .empty")
    assert page.input_value("#token") == ""
    assert token_of(role) not in page.content()
    return page


def forged(page: Any, method: str, path: str, csrf: bool = True) -> int:
    """A request made by the page's own fetch with its cookie (and the CSRF value unless told not)."""
    return int(
        page.evaluate(
            """async ([method, path, csrf]) => {
                const s = await (await fetch('/ui/session')).json();
                const headers = {'Content-Type': 'application/json'};
                if (csrf) headers['X-Agentrun-CSRF'] = s.csrf;
                return (await fetch(path, {method, headers, body: '{}'})).status;
            }""",
            [method, path, csrf],
        )
    )


def test_a_new_run_appears_live_unread_and_marking_it_read_clears_the_badge(
    browser: Any, console_server: Server
) -> None:
    page = open_console(browser, console_server, "admin")
    admin, runner = console_server.client("admin"), console_server.client("runner")
    session_id = unique("sess")
    run = admin.create_run(session_id=session_id)
    row = f"tr[data-session='{session_id}']"
    page.wait_for_selector(f"{row} .pill-unread")

    page.click(f"{row} a")
    page.wait_for_selector("#mark-read")
    runner.ok(runner.post(f"/runs/{run['id']}/claim", {"runnerId": "r1", "leaseMs": 60_000}))
    page.wait_for_selector("#session-run dd:text('claimed')")
    started = time.monotonic()
    runner.ok(
        runner.post(f"/runs/{run['id']}/events", {"type": "assistant_message", "payload": {"text": "hi"}}),
        201,
    )
    page.wait_for_selector("#trace li[data-seq='1']", timeout=1_000)
    assert time.monotonic() - started < 1.0
    assert "hi" in page.inner_text("#output")

    runner.ok(runner.post(f"/runs/{run['id']}/finish", {"terminalStatus": "completed"}))
    page.wait_for_selector("#session-head .pill-unread")
    page.click("#mark-read")
    page.wait_for_selector("#session-head .pill-unread", state="detached")
    page.click("a[href='#/sessions']")
    page.click("button[data-tab='all']")  # read and inactive: it left the attention tab
    page.wait_for_selector(row)
    assert page.locator(f"{row} .pill-unread").count() == 0
    page.context.close()


def test_the_title_search_asks_the_server_by_word_prefix_in_any_case(
    browser: Any, console_server: Server
) -> None:
    page = open_console(browser, console_server, "admin")
    admin = console_server.client("admin")
    word = unique("needle").replace("-", "")
    session_id = unique("sess")
    run = admin.create_run(session_id=session_id)
    admin.ok(
        admin.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {"prompt": f"Fix {word} now"}}),
        201,
    )
    row = f"tr[data-session='{session_id}']"
    page.click("button[data-tab='all']")
    page.fill("#title-search", word[:-3].upper())  # a word's start, in another case
    sync_api.expect(page.locator("#session-list tr[data-session]")).to_have_count(1)
    assert page.locator(row).count() == 1
    page.fill("#title-search", f"{word}x")
    page.wait_for_selector(row, state="detached")
    page.wait_for_selector("#session-list .empty")
    page.context.close()


def test_the_event_log_resumes_after_a_server_restart_without_gap_or_duplicate(
    browser: Any, console_server: Server
) -> None:
    page = open_console(browser, console_server, "admin")
    page.click("a[data-page='events']")
    page.wait_for_selector("#tail-state[data-state='live']")
    start = int(page.get_attribute("#tail", "data-start") or 0)
    admin = console_server.client("admin")
    before = [admin.create_run(session_id=unique("sess")) for _ in range(3)]
    page.wait_for_selector(f"#tail tr[data-position='{before[-1]['position']}']")

    console_server.restart()
    after = [
        Api(console_server.base_url, token_of("admin")).create_run(session_id=unique("sess"))
        for _ in range(3)
    ]
    page.wait_for_selector(f"#tail tr[data-position='{after[-1]['position']}']", timeout=15_000)

    shown = [
        int(p) for p in page.eval_on_selector_all("#tail tr", "rows => rows.map(r => r.dataset.position)")
    ]
    expected = [item["position"] for item in admin.ok(admin.get("/events", after=start, limit=500))["items"]]
    assert sorted(shown) == expected
    assert len(shown) == len(set(shown))
    page.context.close()


def test_an_auditor_sees_no_action_and_a_forged_one_is_forbidden(
    browser: Any, console_server: Server
) -> None:
    admin = console_server.client("admin")
    session_id = unique("sess")
    run = admin.create_run(session_id=session_id)
    page = open_console(browser, console_server, "auditor")
    page.goto(f"{console_server.base_url}/ui#/sessions/{session_id}")
    page.wait_for_selector("#session-run dd")
    page.click("a[data-page='queue']")
    page.wait_for_selector("#queue-stats .stat")
    assert page.locator("button.action").count() == 0
    assert forged(page, "POST", f"/api/v1/runs/{run['id']}/cancel") == 403
    page.context.close()


def test_a_tenant_b_login_never_sees_tenant_a(browser: Any, console_server: Server) -> None:
    admin = console_server.client("admin")
    session_id = unique("sess")
    admin.create_run(session_id=session_id)
    page = open_console(browser, console_server, "client-b")
    page.click("button[data-tab='all']")
    page.wait_for_selector("button[data-tab='all'].active")
    assert session_id not in page.content()
    assert page.inner_text("[data-count='all']") == "0"
    page.goto(f"{console_server.base_url}/ui#/sessions/{session_id}")
    page.wait_for_selector("#session-head .error")
    assert "not-found" in page.inner_text("#session-head")
    page.context.close()


def test_cookie_attributes_csrf_and_logout(browser: Any, console_server: Server) -> None:
    page = open_console(browser, console_server, "client")
    cookies = {c["name"]: c for c in page.context.cookies()}
    cookie = cookies["agentrun_session"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert page.evaluate("document.cookie") == ""  # the page's scripts cannot read it
    run_body = "/api/v1/runs"
    assert forged(page, "POST", run_body, csrf=False) == 403
    assert forged(page, "POST", run_body, csrf=True) == 422  # through the CSRF check, on to the body
    page.click("#logout")
    page.wait_for_selector("#login-form")
    page.context.add_cookies([{**cookie, "url": console_server.base_url} | {"domain": None, "path": None}])
    status = page.evaluate("async () => (await fetch('/api/v1/sessions')).status")
    assert status == 401
    page.context.close()
