"""The shim's request handling: streams both directions unbuffered, translates OAuth headers (back), restores
re-wrapped errors (front), and never invents an answer: whatever it cannot improve goes through as it came."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from typing import TextIO

import aiohttp
from aiohttp import web

from .._wire import REQUEST_ID_HEADER, Headers
from ._config import ShimConfig
from ._edge import AccessLog, api_error
from ._translate import restore_error, translate_auth

HEALTH_PATH = "/shim/health"


class BodyTooLarge(Exception):
    """The client's request body passed ``max_body`` while streaming."""


class ShimApp:
    """The shim's aiohttp application; run it with ``_edge.serve`` (or ``python -m conformance.shim``)."""

    def __init__(self, config: ShimConfig, log: TextIO | AccessLog = sys.stderr) -> None:
        self.config = config
        self.log = log if isinstance(log, AccessLog) else AccessLog(log)
        self.app = web.Application(client_max_size=config.max_body)
        self.app.router.add_route("GET", HEALTH_PATH, self.health)
        self.app.router.add_route("*", "/{tail:.*}", self.proxy)
        self.app.on_cleanup.append(self._close)
        self._session: aiohttp.ClientSession | None = None

    async def _close(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No pool limit: a long stream must never wait for a slot (100 slots dropped the 101st stream), and a
            # pool wait must not eat the connect timeout; connections are bounded by the client-side cap instead.
            timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=self.config.connect_timeout,
                                            sock_read=self.config.idle_timeout)
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0,
                                             keepalive_timeout=self.config.upstream_keepalive_timeout)
            self._session = aiohttp.ClientSession(auto_decompress=False, timeout=timeout, connector=connector)
        return self._session

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "placement": self.config.placement,
                                  "upstream": self.config.upstream_for_display})

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        translate = self.config.placement in ("back", "both")
        restore = self.config.placement in ("front", "both")
        received = _received(request.raw_headers)
        headers: list[tuple[str, str]] = received
        if translate:  # toward Anthropic: never the gateway's own key
            headers = translate_auth(received.without(*self.config.strip_headers))
        length = request.content_length
        if length is not None and length > self.config.max_body:
            self.log.write(event="request", method=request.method, path=request.path, status=413, length=length)
            return api_error(413, "Request exceeds the maximum allowed number of bytes.")
        if length is not None:  # the body streams through; its framing stays what the client declared
            headers = [*headers, ("Content-Length", str(length))]
        body = self._body(request) if request.body_exists else None
        url = self.config.upstream.rstrip("/") + request.path_qs
        try:
            upstream = await self._client().request(
                request.method, url, headers=headers, data=body,
                skip_auto_headers={"User-Agent", "Accept", "Accept-Encoding", "Content-Type"},
            )
        except (TimeoutError, aiohttp.ClientError, BodyTooLarge) as exc:
            # The client sees what it would see from an unreachable API: no invented response body.
            self.log.write(event="upstream-unreachable", method=request.method, path=request.path,
                           error=type(exc).__name__)
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("upstream unreachable") from None
        try:
            response = await self._relay(request, upstream, restore)
        except asyncio.CancelledError:  # the client hung up: this request's line, then the upstream stream closes
            self.log.write(event="client-gone", method=request.method, path=request.path, status=upstream.status,
                           ms=round((time.perf_counter() - started) * 1000, 1))
            raise
        finally:
            upstream.release()
        self.log.write(event="request", method=request.method, path=request.path, status=upstream.status,
                       ms=round((time.perf_counter() - started) * 1000, 1),
                       auth="translated" if translate and any(k == "authorization" for k, _ in headers) else "kept")
        return response

    async def _body(self, request: web.Request) -> AsyncIterator[bytes]:
        """The request body as it arrives, counted against ``max_body`` (never held whole)."""
        total = 0
        async for chunk in request.content.iter_any():
            total += len(chunk)
            if total > self.config.max_body:
                raise BodyTooLarge()
            yield chunk

    async def _relay(self, request: web.Request, upstream: aiohttp.ClientResponse, restore: bool
                     ) -> web.StreamResponse:
        out_headers = _received(upstream.raw_headers)
        if restore and upstream.status >= 400 and "json" in upstream.headers.get("content-type", "") \
                and not upstream.headers.get("content-encoding"):
            head, complete = await self._head(upstream)
            if complete:
                return self._restored(upstream.status, head, out_headers)
            return await self._pass_on(request, upstream, out_headers, head)
        return await self._pass_on(request, upstream, out_headers, b"")

    async def _head(self, upstream: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """Up to ``max_error_body`` bytes of the body, and whether that is all of it (a cut body is not)."""
        cap, head = self.config.max_error_body, b""
        try:
            while len(head) <= cap:
                chunk = await upstream.content.read(cap + 1 - len(head))
                if not chunk:
                    return head, True
                head += chunk
        except (TimeoutError, aiohttp.ClientError):
            pass
        return head, False

    def _restored(self, status: int, body: bytes, headers: Headers) -> web.Response:
        try:
            restored = restore_error(status, body)
        except Exception:  # noqa: BLE001  whatever goes wrong in restoring, the original goes through
            restored = None
        if restored is not None:
            status, body, request_id = restored
            if request_id and not headers.has(REQUEST_ID_HEADER):
                headers.append((REQUEST_ID_HEADER, request_id))
        response = web.Response(status=status, body=body)
        for k, v in headers:
            response.headers.add(k, v)
        return response

    async def _pass_on(self, request: web.Request, upstream: aiohttp.ClientResponse, headers: Headers,
                       head: bytes) -> web.StreamResponse:
        """The response as it comes, ``head`` (already read) first; a body the upstream cut is cut for the client."""
        response = web.StreamResponse(status=upstream.status)
        for k, v in headers:
            response.headers.add(k, v)
        await response.prepare(request)
        try:
            if head:
                await response.write(head)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
        except (TimeoutError, aiohttp.ClientError):
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response


def _received(raw: tuple[tuple[bytes, bytes], ...]) -> Headers:
    """Raw headers as they arrived (case and order kept), without the hop-by-hop ones each hop sets itself."""
    return Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw).end_to_end()
