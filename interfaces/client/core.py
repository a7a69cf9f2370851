"""The HTTP core of the client: one request with typed errors, and SSE streams as typed events."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from httpx_sse import SSEError, connect_sse

from interfaces.client.errors import ConnectionFailed, connection_failed, error_from_response

API_PREFIX = "/api/v1"
# The server sends `: keepalive` at least every 15 s, so a stream silent for longer is dead.
STREAM_READ_TIMEOUT = 45.0


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: its name, its JSON data decoded, and its id (a log position, if any)."""

    event: str
    data: Any
    id: str | None = None
    retry: int | None = None


def clean(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query parameters without the ones left unset; booleans spelt as JSON does."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        out[key] = value
    return out


class HttpCore:
    """Sends requests to one agentrun server with one token; every failure is a `ClientError`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.options: dict[str, Any] = {
            "base_url": base_url,
            "token": token,
            "transport": transport,
            "timeout": timeout,
            "headers": headers,
        }
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=all_headers, transport=transport, timeout=timeout
        )

    def clone(self) -> HttpCore:
        """A core with the same server, token and transport but its own connections."""
        return HttpCore(**self.options)

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        api: bool = True,
        timeout: float | None = None,
    ) -> Any:
        """The decoded JSON body of a 2xx answer (None for 204); a typed error otherwise."""
        url = (API_PREFIX if api else "") + path
        content = orjson.dumps(json) if json is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            response = self.http.request(
                method,
                url,
                content=content,
                headers=headers,
                params=clean(params),
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as error:
            raise connection_failed(error) from error
        if response.status_code >= 400:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        return orjson.loads(response.content)

    def stream(
        self,
        path: str,
        *,
        method: str = "GET",
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        last_event_id: str | None = None,
        read_timeout: float | None = STREAM_READ_TIMEOUT,
        on_open: Callable[[httpx.Response], None] | None = None,
    ) -> Iterator[StreamEvent]:
        """The events of an SSE route as they arrive; ends when the server closes the stream."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        content = None
        if json is not None:
            content = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        timeout = httpx.Timeout(self.timeout, read=read_timeout)
        try:
            with connect_sse(
                self.http,
                method,
                API_PREFIX + path,
                params=clean(params),
                headers=headers,
                content=content,
                timeout=timeout,
            ) as source:
                if on_open is not None:
                    on_open(source.response)
                if source.response.status_code >= 400:
                    source.response.read()
                    raise error_from_response(source.response)
                for sse in source.iter_sse():
                    if not sse.data and sse.event == "message":
                        continue  # a bare `retry:` frame carries no event
                    yield StreamEvent(sse.event, _decode(sse.data), sse.id or None, sse.retry)
        except httpx.TransportError as error:
            raise connection_failed(error) from error
        except SSEError as error:
            raise ConnectionFailed(str(error), kind="unavailable") from error


def abort(response: httpx.Response) -> None:
    """Cut a streaming response from another thread: shutting the socket down wakes a blocked read."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _decode(data: str) -> Any:
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data
