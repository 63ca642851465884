"""The shim's request handling: streams both directions unbuffered, translates OAuth headers (back), restores
re-wrapped errors (front). It invents an answer only where the upstream gave none it could pass on (unreachable,
reset, timed out: 503, 502, 504) or the request broke a limit; anything else goes through as it came."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from typing import TextIO

import aiohttp
from aiohttp import web
from yarl import URL

from ..core._wire import REQUEST_ID_HEADER, Headers
from ._config import ShimConfig
from ._edge import AccessLog, api_error
from ._translate import restore_error, translate_auth, upstream_target, without_headers

HEALTH_PATH = "/shim/health"


class BodyRefused(Exception):
    """The client's request body broke a limit while streaming: answered ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


# What the client gets when the upstream gives no usable answer: Envoy's local replies, in the API's error shape.
_UPSTREAM_FAILURE = {
    "timeout": (504, "upstream request timeout"),
    "connect": (503, "upstream connect error"),
    "reset": (502, "upstream reset or sent an invalid response"),
}
BODY_RATE_GRACE_S = 5.0
"""A request body is held to ``min_body_rate`` only once it has taken this long (small bodies never are)."""


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
            # No cookie jar: one shared jar handed client A's cookies to client B (Envoy keeps no cookie state).
            self._session = aiohttp.ClientSession(auto_decompress=False, timeout=timeout, connector=connector,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "placement": self.config.placement,
                                  "upstream": self.config.upstream_for_display})

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        line: dict[str, object] = {"method": request.method, "path": request.raw_path}

        def done(response: web.StreamResponse, **fields: object) -> web.StreamResponse:
            self.log.write(event="request", **line, status=response.status,
                           ms=round((time.perf_counter() - started) * 1000, 1), **fields)
            return response

        translate = self.config.placement in ("back", "both")
        restore = self.config.placement in ("front", "both")
        received = _received(request.raw_headers)
        target = upstream_target(request.raw_path)
        if received is None:
            return done(api_error(400, "request header values must be UTF-8"), refused="header-encoding")
        if target is None:
            return done(api_error(400, "the request path may not hold dot segments or encoded slashes"),
                        refused="path")
        headers: list[tuple[str, str]] = received
        auth = "kept"
        if translate:  # toward Anthropic: never the gateway's own key, nor what the client says about itself
            kept = without_headers(received, (*self.config.strip_headers, *self.config.drop_headers))
            headers = translate_auth(kept)
            auth = "translated" if headers != kept else "kept"
        length = request.content_length
        if length is not None and length > self.config.max_body:
            return done(api_error(413, "Request exceeds the maximum allowed number of bytes."), length=length)
        if length is not None:  # the body streams through; its framing stays what the client declared
            headers = [*headers, ("Content-Length", str(length))]
        body = self._body(request) if request.body_exists else None
        url = URL(self.config.upstream.rstrip("/") + target, encoded=True)  # as received: never re-resolved
        line["upstream_path"] = url.raw_path_qs
        try:
            upstream = await self._client().request(
                request.method, url, headers=headers, data=body, allow_redirects=False,
                skip_auto_headers={"User-Agent", "Accept", "Accept-Encoding", "Content-Type"},
            )
        except asyncio.CancelledError:  # the client hung up before the upstream answered
            self.log.write(event="client-gone", **line, phase="request",
                           ms=round((time.perf_counter() - started) * 1000, 1))
            raise
        except BodyRefused as exc:
            return done(_closing(api_error(exc.status, exc.message)), refused="body")
        except (TimeoutError, aiohttp.ClientError) as exc:
            if isinstance(exc.__cause__, BodyRefused):  # raised inside the body aiohttp was sending
                return done(_closing(api_error(exc.__cause__.status, exc.__cause__.message)), refused="body")
            if request.transport is None or request.transport.is_closing():  # the client left mid-body
                self.log.write(event="client-gone", **line, phase="request",
                               ms=round((time.perf_counter() - started) * 1000, 1))
                return _closing(api_error(499, "client closed the request"))
            kind = "timeout" if isinstance(exc, TimeoutError) else \
                "connect" if isinstance(exc, aiohttp.ClientConnectorError) else "reset"
            status, message = _UPSTREAM_FAILURE[kind]
            return done(api_error(status, message), upstream_error=type(exc).__name__)
        try:
            response, outcome = await self._relay(request, upstream, restore)
        except asyncio.CancelledError:  # the client hung up: this request's line, then the upstream stream closes
            self.log.write(event="client-gone", **line, phase="response", status=upstream.status,
                           ms=round((time.perf_counter() - started) * 1000, 1))
            raise
        finally:
            upstream.release()
        return done(response, upstream_status=upstream.status, outcome=outcome, auth=auth)

    async def _body(self, request: web.Request) -> AsyncIterator[bytes]:
        """The request body as it arrives (still content-encoded), held to ``max_body``, the body deadlines and the
        minimum rate (never held whole)."""
        config, total = self.config, 0
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            left = start + config.body_timeout - loop.time()
            try:
                chunk = await asyncio.wait_for(request.content.readany(), min(config.body_idle_timeout, left))
            except TimeoutError:
                raise BodyRefused(408, "request body not received in time") from None
            if not chunk:
                return
            total += len(chunk)
            if total > config.max_body:
                raise BodyRefused(413, "Request exceeds the maximum allowed number of bytes.")
            took = loop.time() - start
            if took > BODY_RATE_GRACE_S and total / took < config.min_body_rate:
                raise BodyRefused(408, "request body arriving too slowly")
            yield chunk

    async def _relay(self, request: web.Request, upstream: aiohttp.ClientResponse, restore: bool
                     ) -> tuple[web.StreamResponse, str]:
        """The client's response and what became of it: ``complete``, ``restored`` or ``cut`` (the upstream's body
        ended early, so the client's does too)."""
        out_headers = _received(upstream.raw_headers, lenient=True)
        assert out_headers is not None
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

    def _restored(self, status: int, body: bytes, headers: Headers) -> tuple[web.Response, str]:
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
        return response, "restored" if restored is not None else "complete"

    async def _pass_on(self, request: web.Request, upstream: aiohttp.ClientResponse, headers: Headers,
                       head: bytes) -> tuple[web.StreamResponse, str]:
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
            return response, "cut"
        await response.write_eof()
        return response, "complete"


def _closing(response: web.Response) -> web.Response:
    """``response`` on a connection closed after it: the rest of a refused body is never read."""
    response.force_close()
    return response


def _received(raw: tuple[tuple[bytes, bytes], ...], *, lenient: bool = False) -> Headers | None:
    """Raw headers as they arrived (case and order kept), without the hop-by-hop ones each hop sets itself.

    Values are UTF-8, which is how they are written on again, so their bytes pass unchanged; a request header that
    is not UTF-8 gives None (refused: re-encoding it would change its bytes). ``lenient`` (an upstream's answer)
    reads such a value as Latin-1 instead."""
    try:
        return Headers((k.decode("latin-1"), v.decode("utf-8")) for k, v in raw).end_to_end()
    except UnicodeDecodeError:
        if not lenient:
            return None
        return Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw).end_to_end()
