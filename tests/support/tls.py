"""One TLS context for every httpx client the tests build.

httpx builds a TLS context for each `Client` (loading the CA bundle: 60 to 100 ms on this machine)
even though the tests speak plain HTTP to their own servers; the suite builds thousands of clients.
A client asking for the default verification gets one context, built once per process; a client
asking for anything else (its own context, `verify=False`, a certificate) gets what it asks for.
"""

from __future__ import annotations

import ssl
from typing import Any

from httpx._transports import default as transports


def share_default_tls_context() -> None:
    create = transports.create_ssl_context
    if getattr(create, "shared", False):
        return
    default = create(verify=True, cert=None, trust_env=True)

    def create_or_share(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is True and cert is None and trust_env:
            return default
        return create(verify=verify, cert=cert, trust_env=trust_env)

    create_or_share.shared = True  # type: ignore[attr-defined]
    transports.create_ssl_context = create_or_share  # type: ignore[assignment]

