"""Wire models of console logins and sessions."""

from __future__ import annotations

from pydantic import Field

from interfaces.http.wire import Body, Out


class ConsoleLogin(Body):
    token: str = Field(min_length=1, max_length=4096)


class ConsoleSessionOut(Out):
    principal: str
    roles: list[str]
    tenants: list[str]
    csrf: str
    expires_at: str
    permissions: list[str]


