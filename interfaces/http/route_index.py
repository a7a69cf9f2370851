"""A Starlette router that tries only the routes a request's path can match, found in an index.

Starlette's `Router.app` calls `matches` on every route in order until one matches fully: ~70 regex
matches for a route near the end of the table. `IndexedRouter` keys each route by the leading literal
segments of its path (up to `KEY_DEPTH`, stopping at the first segment holding a `{`; a `Mount` by
its path; a route whose matching it cannot read, a `Host` or a subclass with its own `matches` or
regex, by the empty key). A request's candidates are the routes whose key is a prefix of its path's
segments, in the table's order; the first of them to match fully is the route, and a request none
of them matches fully goes to `Router.app` unchanged (its 405s, slash redirects and 404s included).

Why the first full match among the candidates is the one Starlette's scan finds: a route keyed by
segments `k1..kj` compiles (`compile_path`) to `^` + the escaped text before its first `{` + ... + `$`.
Each `ki` in that text is followed either by a `/` (so a matching path starts with `/k1/.../ki/`:
its first `i` segments are `k1..ki`) or by the end of a path without parameters (so the path is the
template itself, or the template and one trailing newline, which `$` also admits: such paths skip
the index). A `Mount`'s regex is its path + `/{path:path}`, every segment of its path followed by a
`/`. So every route that matches a path fully is among its candidates, and as these keep the table's
order, the first candidate to match fully is the first route to match fully: Starlette's. `matches`
only reads the scope, so trying a candidate before the fallback's scan changes nothing.

The index is built from `routes` when first needed and again when the list is replaced or changes
length (`add_route`, `mount` append); a route replaced in place (`routes[i] = ...`) is not seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router, compile_path
from starlette.types import Receive, Scope, Send

KEY_DEPTH = 3
# Candidate lists memoised per leading segments; bounded, so that random paths cannot grow it.
CACHE_SIZE = 512

Key: TypeAlias = tuple[str, ...]


def route_key(route: BaseRoute) -> Key:
    """The leading literal segments every path the route matches starts with (`()`: any path)."""
    if type(route).matches is Route.matches and isinstance(route, Route):
        template = route.path
    elif type(route).matches is Mount.matches and isinstance(route, Mount):
        template = route.path + "/{path:path}"
    else:
        return ()
    # A subclass may compile its path otherwise; only Starlette's own regex is read here.
    if not template.startswith("/") or route.path_regex.pattern != compile_path(template)[0].pattern:
        return ()
    key: list[str] = []
    for segment in template.split("/")[1 : KEY_DEPTH + 1]:
        if "{" in segment:
            break
        key.append(segment)
    return tuple(key)


class IndexedRouter(Router):
    """A `Router` that resolves an HTTP request among the routes its path can match (module docstring)."""

    def __init__(self, routes: Sequence[BaseRoute] | None = None, **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self._indexed: list[BaseRoute] | None = None
        self._indexed_count = -1
        self._by_key: dict[Key, list[int]] = {}
        self._candidates: dict[Key, tuple[BaseRoute, ...]] = {}

    def _index(self) -> None:
        self._by_key = {}
        for position, route in enumerate(self.routes):
            self._by_key.setdefault(route_key(route), []).append(position)
        self._candidates = {}
        self._indexed, self._indexed_count = self.routes, len(self.routes)

    def candidates(self, path: str) -> tuple[BaseRoute, ...] | None:
        """The routes that may match `path` fully, in the table's order; `None`: any of them may."""
        if not path.startswith("/") or path.endswith("\n"):
            return None
        if self._indexed is not self.routes or self._indexed_count != len(self.routes):
            self._index()
        lead = tuple(path.split("/", KEY_DEPTH + 1)[1 : KEY_DEPTH + 1])
        found = self._candidates.get(lead)
        if found is None:
            positions: list[int] = []
            for depth in range(len(lead) + 1):
                positions += self._by_key.get(lead[:depth], ())
            found = tuple(self.routes[p] for p in sorted(positions))
            if len(self._candidates) >= CACHE_SIZE:
                del self._candidates[next(iter(self._candidates))]
            self._candidates[lead] = found
        return found

    def resolve(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The route matching the HTTP `scope` fully and its child scope, as Starlette's scan would
        find them; `None` when no candidate matches fully (`Router.app` then decides)."""
        candidates = self.candidates(get_route_path(scope))
        if candidates is None:
            return None
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "router" not in scope:
                scope["router"] = self
            found = self.resolve(scope)
            if found is not None:
                route, child_scope = found
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)
