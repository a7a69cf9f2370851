"""`GET /sessions?q=` over HTTP: word prefixes of titles, any case, within the caller's tenants."""

from __future__ import annotations

from typing import Any

from tests.support.server import Api, Server, error_kind, unique


def titled(api: Api, tenant: str, title: str) -> str:
    session_id = unique("sess")
    run = api.create_run(tenant=tenant, session_id=session_id)
    api.ok(api.post(f"/runs/{run['id']}/commands", {"type": "turn", "payload": {"prompt": title}}), 201)
    return session_id


def found(api: Api, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = api.ok(
            api.get("/sessions", state="all", limit=2, **params, **({"cursor": cursor} if cursor else {}))
        )
        ids += [s["sessionId"] for s in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return ids


def test_a_title_search_pages_its_matches_in_list_order_within_the_callers_tenants(server: Server) -> None:
    admin, client = server.client("admin"), server.client("client")
    word = unique("kw").replace("-", "")
    a1 = titled(admin, "tenant-a", f"Refactor the {word} parser")
    b = titled(admin, "tenant-b", f"{word.upper()} docs")
    a2 = titled(admin, "tenant-a", f"Review {word}s and more")
    titled(admin, "tenant-a", "unrelated title")
    order = [a2, b, a1]  # all running (a turn each): latest activity first
    assert found(admin, q=word[:-2]) == order and len(order) == 3
    assert found(admin, q=f"{word} refactor") == [a1]
    assert found(client, q=word) == [s for s in order if s != b]
    assert found(admin, q=f"{word}zz") == []
    too_long = admin.get("/sessions", q="x" * 201)
    assert too_long.status_code == 422 and error_kind(too_long) == "schema-invalid"
