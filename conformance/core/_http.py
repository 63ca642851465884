"""The harness's HTTP client: keeps what a real client would lose (raw bytes, chunk times, header case and order)."""

from __future__ import annotations

import functools
import json
import os
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import certifi
import httpx

from ._encoding import decode_body, decoded_chunks
from ._sse import SseEvent, decode_timed
from ._wire import Headers


@dataclass
class Exchange:
    """One request the harness sent through a path and everything that came back."""

    method: str
    url: str
    request_headers: Headers
    request_body: bytes
    sent_at: float
    status: int | None = None
    headers: Headers = field(default_factory=Headers)
    """Response headers in arrival order with their case as received."""
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    """Raw response body chunks (still content-encoded) with their arrival times."""
    body: bytes = b""
    """The decoded body (gzip removed), which is what an SDK parses."""
    error: str | None = None
    """Transport failure (connection refused, reset, timeout), if any."""
    cid: str | None = None

    @property
    def raw_body(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    def __post_init__(self) -> None:
        self.request_headers = Headers(self.request_headers)
        self.headers = Headers(self.headers)

    def header(self, name: str) -> str | None:
        """The first value of response header ``name`` (case-insensitive)."""
        return self.headers.get(name)

    def header_all(self, name: str) -> list[str]:
        """Every value of response header ``name`` in arrival order."""
        return self.headers.get_all(name)

    def json(self) -> Any:
        return json.loads(self.body)

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except ValueError:
            return None

    @property
    def is_sse(self) -> bool:
        return "text/event-stream" in (self.header("content-type") or "")

    @property
    def content_encoding(self) -> str | None:
        values = self.header_all("content-encoding")
        return ", ".join(values) if values else None

    @property
    def decoded_chunks(self) -> list[tuple[float, bytes]]:
        """``(arrival time, decoded bytes)`` per received chunk, decoded incrementally."""
        return decoded_chunks(self.chunks, self.content_encoding)

    def events(self) -> list[SseEvent]:
        """SSE events of the decoded body, each timed by the arrival of its own bytes (gzip included)."""
        return decode_timed(self.decoded_chunks)


def system_trust(verify: ssl.SSLContext | bool) -> ssl.SSLContext | bool:
    """``verify`` as given, except that "the default trust" (True) is one shared context: ``SSL_CERT_FILE`` as users
    set it for a corporate CA (the harness's clients ignore the rest of the environment), else certifi's bundle."""
    if verify is True:
        return _default_trust(os.environ.get("SSL_CERT_FILE") or certifi.where())
    return verify


@functools.cache
def _default_trust(bundle: str) -> ssl.SSLContext:
    # Loading a bundle of ~150 CAs costs ~50 ms of CPU under the interpreter lock; a context per client (httpx builds
    # one for every Client) was 8% of a 19-target run's harness time, every other check thread waiting meanwhile.
    return ssl.create_default_context(cafile=bundle)


class HarnessClient:
    """Sends requests to one path and records exchanges; every call is bounded by ``timeout`` seconds."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
        proxy: str | None = None,
        connect_to: tuple[str, int] | None = None,
        max_connections: int = 100,
    ) -> None:
        """``connect_to`` sends the TCP connect elsewhere while URL, Host, SNI and certificate check stay as in
        ``base_url`` (what a DNS override does in a cluster); ``proxy`` tunnels through an HTTP CONNECT proxy."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_to = connect_to
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=5.0), trust_env=False, verify=system_trust(verify), proxy=proxy,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: list[tuple[str, str]] | dict[str, str],
        body: Any = None,
        content: bytes | None = None,
        cid: str | None = None,
        timeout: float | None = None,
    ) -> Exchange:
        """Send one request and read the whole response as it arrives; a transport failure is recorded, not raised."""
        if content is None and body is not None:
            content = json.dumps(body, ensure_ascii=False).encode()
        header_list = list(headers.items()) if isinstance(headers, dict) else list(headers)
        request = self._client.build_request(method, self.base_url + path, headers=header_list, content=content,
                                             timeout=httpx.Timeout(timeout, connect=5.0) if timeout
                                             else httpx.USE_CLIENT_DEFAULT)
        if self.connect_to is not None:
            request.headers["host"] = request.url.netloc.decode()
            request.extensions["sni_hostname"] = request.url.host
            request.url = request.url.copy_with(host=self.connect_to[0], port=self.connect_to[1])
        exchange = Exchange(
            method=method,
            url=self.base_url + path,
            request_headers=[(k.decode(), v.decode()) for k, v in request.headers.raw],
            request_body=content or b"",
            sent_at=time.time(),
            cid=cid,
        )
        try:
            response = self._client.send(request, stream=True)
            try:
                exchange.status = response.status_code
                exchange.headers = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw)
                for chunk in response.iter_raw():
                    exchange.chunks.append((time.time(), chunk))
            finally:
                response.close()
            exchange.body = decode_body(exchange.raw_body, exchange.content_encoding)
        except httpx.HTTPError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            exchange.body = exchange.raw_body
        return exchange

    def close(self) -> None:
        self._client.close()

