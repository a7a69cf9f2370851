"""GET /sessions over HTTP: state filters, attention order, keyset pages, changes since, scoping."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_sessions import (
    at,
    claim,
    command,
    finish_command,
    finish_run,
    mark_read,
    start_session,
    summary,
)
from tests.support.server import Api, Server, error_kind, unique


def listed(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every item of the list, following nextCursor until it is null."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = api.ok(api.get("/sessions", cursor=cursor, **params))
        assert page["count"] == len(page["items"])
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items
    raise AssertionError("nextCursor never became null")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["sessionId"] for item in items]


def attention_key(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        not item["active"],
        not item["unread"],
        -at(item["lastActivityAt"]).timestamp(),
        item["sessionId"],
    )


def sessions_in_every_state(server: Server, profile: str, reader: str) -> dict[str, str]:
    """Six sessions under `profile`, named by their state for `reader`."""
    client, runner = server.client("client"), server.client("runner")
    made: dict[str, str] = {}

    made["idle_unread"], _ = start_session(client, profile)

    made["idle_read"], _ = start_session(client, profile)
    mark_read(client, made["idle_read"], reader)

    made["turn_running"], run = start_session(client, profile)
    command(client, run["id"], "turn", prompt="busy")

    made["claimed"], run = start_session(client, profile)
    claim(runner, run["id"])

    made["terminal_unread"], run = start_session(client, profile)
    claim(runner, run["id"])
    finish_run(runner, run["id"])

    made["terminal_read"], run = start_session(client, profile)
    turn = command(client, run["id"], "turn", prompt="done")
    finish_command(runner, turn["id"])
    mark_read(client, made["terminal_read"], reader)
    return made


def test_state_filters_select_sessions_by_execution_and_attention(server: Server) -> None:
    client = server.client("client")
    profile, reader = unique("profile"), unique("reader")
    made = sessions_in_every_state(server, profile, reader)

    def states(state: str) -> set[str]:
        return set(ids(listed(client, state=state, backendProfile=profile, readerId=reader)))

    running = {made["turn_running"], made["claimed"]}
    unread = {made["idle_unread"], made["terminal_unread"]}
    assert states("running") == running
    assert states("unread") == unread
    assert states("default") == running | unread
    assert set(ids(listed(client, backendProfile=profile, readerId=reader))) == running | unread
    assert states("terminal") == {made["terminal_unread"], made["terminal_read"]}
    assert states("idle") == {made["idle_unread"], made["idle_read"]}
    assert states("all") == set(made.values())

    # Without a reader nothing has been read: every inactive session is unread.
    anonymous = listed(client, state="unread", backendProfile=profile)
    assert set(ids(anonymous)) == set(made.values()) - running


def test_list_items_carry_the_readers_attention(server: Server) -> None:
    client = server.client("client")
    profile, reader = unique("profile"), unique("reader")
    made = sessions_in_every_state(server, profile, reader)
    by_id = {s["sessionId"]: s for s in listed(client, state="all", backendProfile=profile, readerId=reader)}
    expected = {
        "idle_unread": "unread", "idle_read": "read", "turn_running": "active",
        "claimed": "active", "terminal_unread": "unread", "terminal_read": "read",
    }  # fmt: skip
    assert {name: by_id[sid]["attentionState"] for name, sid in made.items()} == expected
    for name, sid in made.items():
        item = by_id[sid]
        assert item["readerId"] == reader
        assert (item["readCursor"] is not None) == name.endswith("_read")
        assert item == summary(client, sid, reader)


def test_list_is_sorted_active_then_unread_then_latest_activity_then_id(server: Server) -> None:
    client = server.client("client")
    profile, reader = unique("profile"), unique("reader")
    made = sessions_in_every_state(server, profile, reader)
    items = listed(client, state="all", backendProfile=profile, readerId=reader, limit=100)
    assert ids(items) == ids(sorted(items, key=attention_key))
    ranks = [(item["active"], item["unread"]) for item in items]
    assert ranks == [(True, False)] * 2 + [(False, True)] * 2 + [(False, False)] * 2
    # Among equals the session touched last comes first.
    assert ids(items)[:2] == [made["claimed"], made["turn_running"]]
    assert ids(items)[2:4] == [made["terminal_unread"], made["idle_unread"]]
    assert ids(items)[4:] == [made["terminal_read"], made["idle_read"]]


def test_new_activity_moves_a_session_up_the_list(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    profile, reader = unique("profile"), unique("reader")
    older, old_run = start_session(client, profile)
    newer, _ = start_session(client, profile)

    def order() -> list[str]:
        return ids(listed(client, state="all", backendProfile=profile, readerId=reader))

    assert order() == [newer, older]
    turn = command(client, old_run["id"], "turn", prompt="again")
    finish_command(runner, turn["id"])
    assert order() == [older, newer]
    mark_read(client, older, reader)
    assert order() == [newer, older]


def test_following_next_cursor_yields_each_session_once_in_order(server: Server) -> None:
    client = server.client("client")
    profile, reader = unique("profile"), unique("reader")
    made = sessions_in_every_state(server, profile, reader)
    extra, _ = start_session(client, profile)
    whole = client.ok(
        client.get("/sessions", state="all", backendProfile=profile, readerId=reader, limit=100)
    )
    assert whole["count"] == 7 and whole["nextCursor"] is None
    assert set(ids(whole["items"])) == {*made.values(), extra}

    pages = []
    cursor = None
    while True:
        page = client.ok(
            client.get(
                "/sessions",
                state="all",
                backendProfile=profile,
                readerId=reader,
                limit=2,
                cursor=cursor,
            )
        )
        pages.append(ids(page["items"]))
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [sid for p in pages for sid in p] == ids(whole["items"])

    default = listed(client, backendProfile=profile, readerId=reader, limit=1)
    assert ids(default) == ids(
        client.ok(client.get("/sessions", backendProfile=profile, readerId=reader))["items"]
    )
    assert len(default) == 5


def test_exactly_full_last_page_has_no_next_cursor(server: Server) -> None:
    client = server.client("client")
    profile = unique("profile")
    for _ in range(2):
        start_session(client, profile)
    page = client.ok(client.get("/sessions", state="all", backendProfile=profile, limit=2))
    assert page["count"] == 2 and page["nextCursor"] is None


def test_bad_list_parameters_are_schema_invalid(server: Server) -> None:
    client = server.client("client")
    for params in (
        {"cursor": "garbage!!"},
        {"cursor": "bm90LWEtY3Vyc29y"},
        {"limit": 101},
        {"limit": 0},
        {"state": "sleeping"},
        {"changedSince": -1},
        {"changedSince": 0, "cursor": "garbage"},
    ):
        response = client.get("/sessions", **params)
        assert response.status_code == 422, params
        assert error_kind(response) == "schema-invalid"


def test_changed_since_lists_sessions_with_a_higher_version_by_version(server: Server) -> None:
    client, runner = server.client("client"), server.client("runner")
    profile = unique("profile")
    first, first_run = start_session(client, profile)
    second, second_run = start_session(client, profile)
    since = summary(client, second)["version"]
    third, _ = start_session(client, profile)
    command(client, first_run["id"], "turn", prompt="one")
    finish_run(runner, second_run["id"])

    changed = listed(client, changedSince=since, backendProfile=profile)
    assert ids(changed) == [third, first, second]
    versions = [s["version"] for s in changed]
    assert versions == sorted(versions) and versions[0] > since
    assert all(s == summary(client, s["sessionId"]) for s in changed)

    one_by_one = listed(client, changedSince=since, backendProfile=profile, limit=1)
    assert ids(one_by_one) == ids(changed)
    assert ids(listed(client, changedSince=0, backendProfile=profile)) == [third, first, second]
    assert listed(client, changedSince=versions[-1], backendProfile=profile) == []


def test_changed_since_includes_idle_and_read_sessions(server: Server) -> None:
    client = server.client("client")
    profile, reader = unique("profile"), unique("reader")
    session_id, _ = start_session(client, profile)
    mark_read(client, session_id, reader)
    changed = listed(client, changedSince=0, backendProfile=profile, readerId=reader)
    assert ids(changed) == [session_id]
    assert changed[0]["attentionState"] == "read"


def test_list_of_another_tenant_never_shows_these_sessions(server: Server) -> None:
    client, other = server.client("client"), server.client("client-b")
    profile = unique("profile")
    session_id, _ = start_session(client, profile)
    own_id = unique("sess")
    other.ok(
        other.post(
            "/runs",
            {
                "tenantId": "tenant-b",
                "projectId": "proj",
                "backendProfile": profile,
                "sessionRef": {"sessionId": own_id},
            },
        ),
        201,
    )

    assert ids(listed(other, state="all", backendProfile=profile)) == [own_id]
    assert ids(listed(other, changedSince=0, backendProfile=profile)) == [own_id]
    assert {s["tenantId"] for s in listed(other, state="all")} == {"tenant-b"}
    assert ids(listed(client, state="all", backendProfile=profile)) == [session_id]
    admin = server.client("admin")
    assert set(ids(listed(admin, state="all", backendProfile=profile))) == {session_id, own_id}
