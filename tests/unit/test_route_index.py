"""`IndexedRouter` resolves every request to the route Starlette's full scan picks, and leaves every
request no candidate matches fully (405, slash redirect, 404) to Starlette's `Router.app`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from starlette._utils import get_route_path
from starlette.applications import Starlette
from starlette.convertors import CONVERTOR_TYPES
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Host, Match, Mount, Route, Router
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from infrastructure.settings import Settings
from interfaces.bootstrap import Container
from interfaces.http import route_index
from interfaces.http.app import create_app
from interfaces.http.route_index import CACHE_SIZE, IndexedRouter, route_key

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Values for a parameter of each convertor; the str ones include words that are also literal segments.
SAMPLES = {
    "str": ("x7", "counts", "stream", "events:batch"),
    "path": ("a", "a/b", ""),
    "int": ("7",),
    "float": ("1.5",),
    "uuid": ("9f1c2d3e-aaaa-bbbb-cccc-1234567890ab",),
}
EXTRA_PATHS = (
    "/",
    "",
    "//",
    "/api",
    "/api/",
    "/api/v1",
    "/api/v1/",
    "/api//v1/runs",
    "/api/v1/runs/x7/nope",
    "/api/v1/inference-tasks/x7/result/extra",
    "/API/v1/runs",
    "/v1",
    "/v1/",
    "/v1/models/x",
    "/v1/chat",
    "/v1/chat/completions/",
    "/ui",
    "/ui/",
    "/ui/static",
    "/ui/static/",
    "/ui/static/app.js",
    "/ui/login/",
    "/nope",
    "/nope/deeper/still/and/more",
    "/healthz\n",
    "/api/v1/runs\n",
    "/api/v1/runs/x7\n",
    "/ümlaut/ü",
)


def _fill(template: str, route: BaseRoute) -> list[str]:
    """The template with sample values for its parameters, every combination of them."""
    paths = [template]
    for name, convertor in getattr(route, "param_convertors", {}).items():
        kind = next(k for k, c in CONVERTOR_TYPES.items() if type(convertor) is type(c))
        marker = next(m for m in (f"{{{name}:{kind}}}", f"{{{name}}}") if m in template)
        paths = [p.replace(marker, value) for p in paths for value in SAMPLES[kind]]
    return paths


def request_paths(routes: Sequence[BaseRoute]) -> list[str]:
    """Every route's template filled in, with and without a trailing slash and with a segment more."""
    paths: set[str] = set(EXTRA_PATHS)
    for route in routes:
        template = getattr(route, "path", None)
        if template is None:
            continue
        if isinstance(route, Mount):
            template += "/{path:path}"
        for path in _fill(template, route):
            paths.update({path, path + "/", path.rstrip("/") or "/", path + "/more", path + "\n"})
    return sorted(paths)


def http_scope(method: str, path: str, root_path: str = "") -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": root_path,
        "scheme": "http",
        "server": ("testserver", 80),
        "headers": [(b"host", b"testserver")],
        "query_string": b"",
    }


def full_scan(routes: Sequence[BaseRoute], scope: Scope) -> tuple[BaseRoute, Scope] | None:
    """Starlette's own choice: the first route to match fully, in order."""
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            return route, child_scope
    return None


def same(one: tuple[BaseRoute, Scope] | None, other: tuple[BaseRoute, Scope] | None) -> bool:
    """The same route object (`Route.__eq__` compares paths and endpoints only) and child scope."""
    if one is None or other is None:
        return one is other
    return one[0] is other[0] and one[1] == other[1]


def mismatches(
    router: IndexedRouter, routes: Sequence[BaseRoute], scopes: Sequence[Scope]
) -> list[tuple[str, str, str, object, object]]:
    """The requests the router resolves otherwise than a full scan. It may decline only a path it
    does not index (`candidates` is `None`): `Router.app` then scans them all."""
    found = []
    for scope in scopes:
        expected = full_scan(routes, dict(scope))
        got = router.resolve(dict(scope))
        declined = got is None and router.candidates(get_route_path(scope)) is None
        if not same(got, expected) and not declined:
            found.append((scope["method"], scope["root_path"], scope["path"], expected, got))
    return found


def all_scopes(routes: Sequence[BaseRoute]) -> list[Scope]:
    paths = request_paths(routes)
    scopes = [http_scope(method, path) for path in paths for method in METHODS]
    # Behind a proxy's prefix, `matches` reads the path without it.
    scopes += [http_scope("GET", "/base" + path, "/base") for path in paths]
    scopes += [http_scope("POST", path, "/base") for path in paths]
    return scopes


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    container = Container(
        Settings(AGENTRUN_DATA_DIR=tmp_path_factory.mktemp("data"), AGENTRUN_AUTH="disabled")
    )
    try:
        yield create_app(container)
    finally:
        container.close()


def test_the_app_routes_through_an_indexed_router_over_its_routes(app: Starlette) -> None:
    assert isinstance(app.router, IndexedRouter)
    assert len(app.routes) > 60
    assert app.url_path_for("console-static", path="app.js") == "/ui/static/app.js"


def test_the_apps_routes_are_keyed_by_their_leading_literal_segments(app: Starlette) -> None:
    keys = {getattr(route, "path", None): route_key(route) for route in app.routes}
    assert keys["/healthz"] == ("healthz",)
    assert keys["/api/v1/runs/{runId}/events"] == ("api", "v1", "runs")
    assert keys["/api/v1/inference-tasks/{taskId}/result"] == ("api", "v1", "inference-tasks")
    assert keys["/api/v1/queue/tasks:cancel"] == ("api", "v1", "queue")
    assert keys["/v1/{rest:path}"] == ("v1",)
    assert keys["/v1/chat/completions"] == ("v1", "chat", "completions")
    assert keys["/ui/static"] == ("ui", "static")
    assert keys["/ui/"] == ("ui", "")
    assert keys["/"] == ("",)


def test_every_request_resolves_to_the_route_a_full_scan_picks(app: Starlette) -> None:
    router = app.router
    assert isinstance(router, IndexedRouter)
    scopes = all_scopes(app.routes)
    assert len(scopes) > 3000
    assert mismatches(router, app.routes, scopes) == []
    # The requests cover every route, and the router answers each of them itself.
    resolved = {id(found[0]) for s in scopes if (found := router.resolve(dict(s))) is not None}
    assert resolved == {id(route) for route in app.routes}
    result = router.resolve(http_scope("POST", "/api/v1/inference-tasks/t1/result"))
    assert result is not None
    assert getattr(result[0], "path", None) == "/api/v1/inference-tasks/{taskId}/result"
    assert result[1]["path_params"] == {"taskId": "t1"}


@pytest.mark.parametrize(
    ("template", "wrong_key", "method", "path"),
    [
        # Missed: the fallback would still find it, at a full scan's cost.
        (
            "/api/v1/inference-tasks/{taskId}/result",
            ("api", "v1", "runs"),
            "POST",
            "/api/v1/inference-tasks/x7/result",
        ),
        # Missed while a later route matches: `/v1/{rest:path}` would answer `GET /v1/models`.
        ("/v1/models", ("v1", "model"), "GET", "/v1/models"),
    ],
)
def test_a_wrongly_indexed_route_is_caught(
    app: Starlette,
    monkeypatch: pytest.MonkeyPatch,
    template: str,
    wrong_key: tuple[str, ...],
    method: str,
    path: str,
) -> None:
    def misfiled(route: BaseRoute) -> tuple[str, ...]:
        return wrong_key if getattr(route, "path", None) == template else route_key(route)

    monkeypatch.setattr(route_index, "route_key", misfiled)
    wrong = mismatches(IndexedRouter(app.routes), app.routes, all_scopes(app.routes))
    assert (method, "", path) in {w[:3] for w in wrong}


def test_candidates_out_of_the_tables_order_are_caught(app: Starlette) -> None:
    class Reversed(IndexedRouter):
        def candidates(self, path: str) -> tuple[BaseRoute, ...] | None:
            found = super().candidates(path)
            return None if found is None else found[::-1]

    wrong = mismatches(Reversed(app.routes), app.routes, all_scopes(app.routes))
    paths = {path for _, _, path, _, _ in wrong}
    # `/v1/models` before the `/v1/{rest:path}` fallback; `/counts` before `/{taskId}`.
    assert {"/v1/models", "/api/v1/inference-tasks/counts"} <= paths


class _AnyCase(Route):
    """A route with matching of its own: the index cannot read it, so it is tried for every path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        lowered = {**scope, "path": scope["path"].lower()}
        return super().matches(lowered)


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def test_routes_the_index_cannot_read_are_tried_for_every_path() -> None:
    routes: list[BaseRoute] = [
        Route("/a/{x}", _ok),
        Route("/a/b", _ok),
        _AnyCase("/legacy/thing", _ok),
        Host("api.example.com", Router([Route("/h", _ok)])),
        Mount("/m/{tenant}/files", routes=[Route("/f", _ok)]),
        Route("/a/b/c/d/e", _ok),
        Route("/a/b/c/{x}", _ok),
        Route("/x{n:int}/y", _ok),
        Mount("", routes=[Route("/inner", _ok)]),
        Route("/api/v1/runs", _ok),
        Route("/api/v1/{x}", _ok),
    ]
    assert [route_key(r) for r in routes] == [
        ("a",),
        ("a", "b"),
        (),
        (),
        ("m",),
        ("a", "b", "c"),
        ("a", "b", "c"),
        (),
        (),
        ("api", "v1", "runs"),
        ("api", "v1"),
    ]
    router = IndexedRouter(routes)
    paths = request_paths(routes) + ["/LEGACY/Thing", "/h", "/inner", "/m/t1/files/f", "/x7/y", "/a/b/c/d/e"]
    scopes = [http_scope(m, p) for p in paths for m in ("GET", "POST")]
    assert mismatches(router, routes, scopes) == []
    assert router.resolve(http_scope("GET", "/a/b")) == full_scan(routes, http_scope("GET", "/a/b"))
    assert router.resolve(http_scope("GET", "/LEGACY/Thing")) is not None


def test_a_path_with_a_trailing_newline_goes_to_the_full_scan() -> None:
    # `$` matches before a final newline: Starlette picks `/api/v1/runs`, while the path's third
    # segment (`runs\n`) would leave only `/api/v1/{x}` among the candidates.
    routes: list[BaseRoute] = [Route("/api/v1/runs", _ok), Route("/api/v1/{x}", _ok)]
    router = IndexedRouter(routes)
    scope = http_scope("GET", "/api/v1/runs\n")
    scanned = full_scan(routes, dict(scope))
    assert scanned is not None and scanned[0] is routes[0]
    assert router.candidates("/api/v1/runs\n") is None
    assert router.resolve(dict(scope)) is None


def test_routes_added_later_are_indexed() -> None:
    router = IndexedRouter([Route("/a/{x}", _ok)])
    assert router.resolve(http_scope("GET", "/b/c")) is None
    router.add_route("/b/c", _ok)
    found = router.resolve(http_scope("GET", "/b/c"))
    assert found is not None and found[0] is router.routes[-1]


def test_random_paths_do_not_grow_the_candidate_cache() -> None:
    router = IndexedRouter([Route("/a/{x}", _ok)])
    for n in range(CACHE_SIZE * 3):
        router.candidates(f"/r{n}/s{n}/t{n}/u")
    assert len(router._candidates) == CACHE_SIZE
    assert router.candidates("/a/b") == (router.routes[0],)


def _drive(router: Router, scopes: Sequence[Scope]) -> list[tuple[Any, ...]]:
    """What `router.app` does with each request: the route it hands it to and with what scope, or
    what it answers itself (a redirect, a 404)."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def run() -> list[tuple[Any, ...]]:
        outcomes = []
        for original in scopes:
            scope, sent = dict(original), list[Message]()

            async def send(message: Message, sent: list[Message] = sent) -> None:
                sent.append(message)

            await router.app(scope, receive, send)
            handled = {k: v for k, v in scope.items() if k != "router"}
            outcomes.append((handled, sent))
        return outcomes

    return asyncio.run(run())


def test_the_router_hands_each_request_on_exactly_as_starlettes(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled: list[BaseRoute] = []
    for route in app.routes:

        async def handle(scope: Scope, receive: Receive, send: Send, route: BaseRoute = route) -> None:
            handled.append(route)

        monkeypatch.setattr(route, "handle", handle)
    scopes = all_scopes(app.routes)
    indexed = _drive(IndexedRouter(app.routes), scopes)
    by_indexed, handled[:] = list(handled), []
    plain = _drive(Router(app.routes), scopes)
    assert [id(r) for r in handled] == [id(r) for r in by_indexed]
    assert indexed == plain
    # Among them partial matches (405s), slash redirects and Starlette's own 404s.
    partial = [
        h for h, _ in plain if "route" in h and h["method"] not in getattr(h["route"], "methods", METHODS)
    ]
    assert partial
    assert {sent[0]["status"] for _, sent in plain if sent} == {307, 404}


CASES = [
    ("GET", "/api/v1/runs", 405),
    ("DELETE", "/api/v1/inference-tasks/t1/result", 405),
    ("GET", "/api/v1/nope", 404),
    ("GET", "/nope", 404),
    ("GET", "/", 404),
    ("POST", "/api/v1/runs/", 307),
    ("GET", "/healthz/", 307),
    ("DELETE", "/v1/models", 405),
    ("POST", "/v1/nope", 404),
    ("GET", "/ui/static/nope.js", 404),
    ("GET", "/healthz", 200),
]


def test_errors_are_the_envelope_as_before(app: Starlette) -> None:
    client = TestClient(app, follow_redirects=False)

    for method, path, status in CASES:
        response = client.request(method, path)
        assert response.status_code == status, (method, path)
    not_allowed = client.get("/api/v1/runs").json()
    assert not_allowed == {
        "error": {"kind": "method-not-allowed", "message": "Method Not Allowed", "details": {}}
    }
    not_found = client.get("/api/v1/nope").json()
    assert not_found == {"error": {"kind": "not-found", "message": "Not Found", "details": {}}}
    assert client.delete("/v1/models").json()["error"]["code"] == "method-not-allowed"
    assert client.post("/api/v1/runs/").headers["location"] == "http://testserver/api/v1/runs"


def test_the_app_answers_as_with_starlettes_router(tmp_path: Path) -> None:
    container = Container(Settings(AGENTRUN_DATA_DIR=tmp_path, AGENTRUN_AUTH="disabled"))
    try:
        indexed = create_app(container)
        plain = create_app(container)
        plain.router = Router(plain.routes)
        with TestClient(indexed, follow_redirects=False) as a:
            assert container._started  # the app's lifespan ran, through the indexed router
            b = TestClient(plain, follow_redirects=False)
            for method, path, _ in [*CASES, ("GET", "/openapi.json", 200), ("GET", "/ui", 200)]:
                one, other = a.request(method, path), b.request(method, path)
                assert (one.status_code, one.content) == (other.status_code, other.content), (method, path)
                assert {**one.headers, "x-request-id": ""} == {**other.headers, "x-request-id": ""}
            assert a.get("/openapi.json").json()["paths"]
        assert not container._started
    finally:
        container.close()
