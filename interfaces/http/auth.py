"""Bearer tokens from `AGENTRUN_API_TOKENS`, resolved to principals."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import orjson

from application.access import ALL_TENANTS, ROLES, Principal
from application.errors import UnauthorizedError

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

    def authenticate(self, authorization: str | None) -> Principal:
        if self.disabled:
            return ANONYMOUS_ADMIN
        if not authorization or not authorization.lower().startswith("bearer "):
            raise UnauthorizedError("a bearer token is required")
        principal = self._principals.get(_digest(authorization[7:].strip()))
        if principal is None:
            raise UnauthorizedError("the bearer token is not valid")
        return principal
