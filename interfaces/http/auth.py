"""Bearer tokens from `AGENTRUN_API_TOKENS`, resolved to principals."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from application.access import ALL_TENANTS, ROLES, Principal
from application.errors import ForbiddenError, UnauthorizedError
from infrastructure.browser_sessions import BrowserSessions, csrf_of

log = logging.getLogger(__name__)

ANONYMOUS_ADMIN = Principal.of("anonymous", ["admin"], [ALL_TENANTS])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRegistry:
    """Known tokens, kept only as digests; `disabled` makes every caller an admin."""

    def __init__(self, entries: list[dict[str, Any]], disabled: bool = False) -> None:
        self.disabled = disabled
        self._principals: dict[str, Principal] = {}
        for entry in entries:
            roles = entry.get("roles") or []
            unknown = set(roles) - set(ROLES)
            if unknown:
                raise ValueError(f"unknown roles in AGENTRUN_API_TOKENS: {sorted(unknown)}")
            principal = Principal.of(str(entry["principal"]), roles, entry.get("tenants") or [])
            self._principals[_digest(str(entry["token"]))] = principal

    @classmethod
    def from_settings(cls, api_tokens: str | None, auth: str | None) -> TokenRegistry:
        if (auth or "").lower() == "disabled":
            log.warning("AGENTRUN_AUTH=disabled: every request is treated as an admin")
            return cls([], disabled=True)
        entries = orjson.loads(api_tokens) if api_tokens else []
        if not isinstance(entries, list):
            raise ValueError("AGENTRUN_API_TOKENS must be a JSON list")
        return cls(entries)

    def __len__(self) -> int:
        return len(self._principals)

    def knows(self, name: str) -> bool:
        """Whether some configured token still belongs to the principal (a removed one ends its sessions)."""
        return self.disabled or any(p.name == name for p in self._principals.values())

    def authenticate(self, authorization: str | None) -> Principal:
        if self.disabled:
            return ANONYMOUS_ADMIN
        if not authorization or not authorization.lower().startswith("bearer "):
            raise UnauthorizedError("a bearer token is required")
        principal = self._principals.get(_digest(authorization[7:].strip()))
        if principal is None:
            raise UnauthorizedError("the bearer token is not valid")
        return principal


SESSION_COOKIE = "agentrun_session"
CSRF_HEADER = "x-agentrun-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Authenticator:
    """Who is calling: a bearer token first, else a console session cookie (with CSRF on writes)."""

    def __init__(self, tokens: TokenRegistry, sessions: BrowserSessions) -> None:
        self.tokens = tokens
        self.sessions = sessions

    async def authenticate(self, request: Request) -> Principal:
        authorization = request.headers.get("authorization")
        session_id = request.cookies.get(SESSION_COOKIE)
        if self.tokens.disabled or authorization or not session_id:
            return self.tokens.authenticate(authorization)
        principal = await run_in_threadpool(self.session_principal, session_id)
        if request.method not in SAFE_METHODS:
            check_csrf(session_id, request.headers.get(CSRF_HEADER))
        return principal

    def session_principal(self, session_id: str) -> Principal:
        """The principal of a live session whose principal still has a token."""
        session = self.sessions.find(session_id)
        if session is None or not self.tokens.knows(session.principal):
            raise UnauthorizedError("the console session has ended; log in again")
        return Principal.of(session.principal, session.roles, session.tenants)


def check_csrf(session_id: str, header: str | None) -> None:
    if not header or not hmac.compare_digest(header.encode(), csrf_of(session_id).encode()):
        raise ForbiddenError(f"a console session's {CSRF_HEADER} header is missing or wrong")
