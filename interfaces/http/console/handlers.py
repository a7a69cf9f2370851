"""Handlers of console logins: a token in, a session cookie (never the token) out."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import cookie_parser
from starlette.responses import Response

from application.access import ROLE_PERMISSIONS, Principal
from application.errors import UnauthorizedError
from domain.errors import SchemaInvalidError
from infrastructure.browser_sessions import BrowserSession, csrf_of
from interfaces.http.auth import CSRF_HEADER, SESSION_COOKIE, check_csrf
from interfaces.http.console.models import ConsoleLogin
from interfaces.http.endpoint import Call

ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values())


def login(call: Call) -> Response:
    # A cross-site form can post text/plain but never application/json: no login CSRF.
    if not call.headers.get("content-type", "").lower().startswith("application/json"):
        raise SchemaInvalidError("a login is a JSON body with Content-Type: application/json")
    body: ConsoleLogin = call.body
    principal = call.app.tokens.authenticate(f"Bearer {body.token}")
    session_id, session = call.app.browser_sessions.open(
        principal.name, list(principal.roles), list(principal.tenants)
    )
    response = _session_response(session_id, session)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(call.app.browser_sessions.ttl.total_seconds()),
        path="/",
        secure=call.headers.get("x-forwarded-proto") == "https",
        httponly=True,
        samesite="strict",
    )
    return response


def current_session(call: Call) -> Response:
    """The caller's console session (so a reloaded page gets its CSRF value back)."""
    session_id, session = _live_session(call)
    return _session_response(session_id, session)


def logout(call: Call) -> Response:
    session_id, _ = _live_session(call)
    check_csrf(session_id, call.headers.get(CSRF_HEADER))
    call.app.browser_sessions.close(session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _live_session(call: Call) -> tuple[str, BrowserSession]:
    session_id = cookie_parser(call.headers.get("cookie", "")).get(SESSION_COOKIE)
    session = call.app.browser_sessions.find(session_id) if session_id else None
    if session_id is None or session is None or not call.app.tokens.knows(session.principal):
        raise UnauthorizedError("no live console session; log in")
    return session_id, session


def _session_response(session_id: str, session: BrowserSession) -> Response:
    principal = Principal.of(session.principal, session.roles, session.tenants)
    payload: dict[str, Any] = {
        "principal": session.principal,
        "roles": session.roles,
        "tenants": session.tenants,
        "csrf": csrf_of(session_id),
        "expiresAt": session.expires_at,
        # What the page may offer: it hides the actions of roles that lack them (the API checks anyway).
        "permissions": sorted(p for p in ALL_PERMISSIONS if principal.can(p)),
    }
    # The page keeps the CSRF value: this answer must never sit in a shared cache.
    headers = {"Cache-Control": "no-store"}
    return Response(orjson.dumps(payload), media_type="application/json", headers=headers)
