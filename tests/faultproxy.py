"""A deliberately broken egress path: a reverse proxy that injects one named fault, so each check can be seen to fail.

With no fault it is transparent (hop-by-hop headers aside), which the tests verify too, so a failing check is the
fault's doing and nothing else's. Faults are ``name`` or ``name=argument``; see ``faults.FAULTS``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import zlib
from typing import Any

import aiohttp
from aiohttp import web

from conformance.core._background import BackgroundServer
from conformance.core._encoding import ContentDecoder, decode_body
from conformance.core._sse import SseDecoder, encode_event
from conformance.core._wire import HOP_BY_HOP

from .faults import (
    BENIGN,
    FAULTS,
    JSON_EDITS,
    KNOWN_BETAS,
    SSE_EDITS,
    edit_event,
    edit_json_body,
    edit_request_body,
)
from .usage_ledger import UsageLedger

PROXY_KEY_HEADER = "x-litellm-api-key"
# What the upstream sent for a request, kept for the usage ledger.
UPSTREAM_BODY = web.RequestKey("upstream_body", list)


class FaultProxy:
    """A reverse proxy to ``upstream_url`` with the given faults switched on."""

    def __init__(self, upstream_url: str, *faults: str, tls_url: str | None = None,
                 serve_tls: ssl.SSLContext | None = None) -> None:
        """With ``tls_url`` the proxy reaches the upstream over TLS there, naming SNI api.anthropic.com; with
        ``serve_tls`` it answers over TLS itself (as api.anthropic.com, for a client that resolves the name to it)."""
        self.upstream_url = (tls_url or upstream_url).rstrip("/")
        self.tls = tls_url is not None
        self.faults: dict[str, str] = {}
        for fault in faults:
            name, _, argument = fault.partition("=")
            if name not in FAULTS and name not in BENIGN:
                raise ValueError(f"unknown fault {name}")
            self.faults[name] = argument
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_cleanup.append(self._close_session)
        self._server = BackgroundServer(app, name="fault-proxy", ssl_context=serve_tls)
        self._session: aiohttp.ClientSession | None = None
        self.ledger = UsageLedger(self.faults)
        """The proxy's usage accounting (a gateway callback's records), one per Messages response."""
        self.served_alone_ms: list[float] = []
        """How long the proxy took over each non-streaming request it had to itself, from its arrival to the answer
        handed to the server to write: what the proxy itself spent, delay faults included."""
        self.event_holds_ms: list[float] = []
        """How long each delay-per-event hold really took while the proxy had one request: a sleep wakes late."""
        self._in_flight = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> FaultProxy:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    async def _close_session(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request side ----------------------------------------------------------------------------------------

    def _request_headers(self, request: web.Request) -> list[tuple[str, str]]:
        f = self.faults
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.raw_headers
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        if "leak-proxy-key" not in f:
            headers = [(k, v) for k, v in headers if k.lower() != PROXY_KEY_HEADER]
        out: list[tuple[str, str]] = []
        for name, value in headers:
            lower = name.lower()
            if (
                lower == "authorization"
                and value.startswith("Bearer ")
                and ("bearer-to-x-api-key" in f or ("oauth-to-x-api-key" in f and "sk-ant-oat" in value))
            ):
                out.append(("x-api-key", value[len("Bearer ") :]))
                continue
            if lower == "anthropic-beta" and "strip-beta" in f:
                continue
            if lower == "anthropic-beta" and "normalise-anthropic-headers" in f:
                value = ",".join(b for b in value.split(",") if b.strip() in KNOWN_BETAS)
                if not value:
                    continue
            if lower == "anthropic-version" and "normalise-anthropic-headers" in f:
                value = "2023-06-01"
            if lower == "user-agent" and "replace-user-agent" in f:
                value = "Python/3.11 aiohttp/3.9"
            if lower == "anthropic-beta" and "duplicate-beta" in f:
                value = f"{value},oauth-2025-04-20"
            if f.get("drop-request-header", "").lower() == lower:
                continue
            out.append((name, value))
            if lower == "anthropic-version" and "duplicate-version" in f:
                out.append((name, value))
        if "add-request-header" in f:
            out.append(("x-fault-proxy", "1"))
        return out

    # -- the exchange ----------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        alone, started = self._in_flight == 1, time.monotonic()
        try:
            response = await self._handle(request)
            if alone and self._in_flight == 1 and b'"stream"' not in await request.read():
                self.served_alone_ms.append((time.monotonic() - started) * 1000)
            return response
        finally:
            self._in_flight -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        f = self.faults
        raw = await request.read()
        if "html-502" in f:
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if f.get("block-path") == request.path:
            return web.json_response({"detail": "Not Found"}, status=404)
        if "max-body" in f and len(raw) > int(f["max-body"]):
            return web.Response(status=413, content_type="text/html", text="<html><head><title>413 Request Entity "
                                "Too Large</title></head><body><center><h1>413 Request Entity Too Large</h1></center>"
                                "<hr><center>nginx</center></body></html>")
        if "waf" in f and b"<script>" in raw:
            return web.Response(status=403, text="<html>403 Forbidden</html>", content_type="text/html")
        if "reject-header" in f and f["reject-header"] in request.headers:
            return web.json_response({"error": f"header {f['reject-header']} not allowed"}, status=400)
        if "reset-head" in f and request.method == "HEAD":
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("fault reset-head")
        if "delay-per-request" in f:
            await asyncio.sleep(float(f["delay-per-request"]) / 1000)
        if "hold-nonessential" in f and not request.path.startswith(("/v1/", "/api/claude_code/")):
            await asyncio.sleep(float(f["hold-nonessential"] or 30))
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=504)  # the client gave up waiting; aiohttp drops this answer quietly
        if "slow-models" in f and request.path == "/v1/models":
            await asyncio.sleep(float(f["slow-models"] or 4))
        if "redirect-models" in f and request.path == "/v1/models":
            raise web.HTTPTemporaryRedirect("/models" + (f"?{request.query_string}" if request.query_string else ""))
        stream_request = b'"stream": true' in raw or b'"stream":true' in raw
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        url = (
            self.upstream_url
            + request.path
            + ("" if "drop-query" in f or not request.query_string else "?" + request.query_string)
        )
        tls: dict[str, Any] = {}
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            tls = {"ssl": context, "server_hostname": f.get("tls-sni", "api.anthropic.com")}
        sending = self._session.request(
            request.method,
            url,
            headers=self._request_headers(request),
            data=raw.decode(errors="replace").encode() if "text-body" in f else edit_request_body(self.faults, raw),
            skip_auto_headers={"User-Agent", "Accept-Encoding", "Accept", "Content-Type"},
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=120),
            **tls,
        )
        try:
            limit = float(f["response-timeout"]) if "response-timeout" in f else None
            upstream = await asyncio.wait_for(sending, timeout=limit)
        except TimeoutError:
            return web.Response(status=504, text="upstream request timeout", content_type="text/plain")
        try:
            if request.method == "HEAD":  # headers only, whatever the faults do to bodies
                return web.Response(status=upstream.status,
                                    headers=[(k, v) for k, v in self._response_headers(upstream, keep_length=True)
                                             if k.lower() != "content-encoding"])
            response = await self._respond(request, upstream, stream_request)
            if request.path.endswith("/v1/messages") and request.method == "POST":
                body = decode_body(b"".join(request.get(UPSTREAM_BODY, [])), upstream.headers.get("content-encoding"))
                self.ledger.record(raw, upstream.status, body, "text/event-stream" in upstream.headers.get(
                    "content-type", ""))
            return response
        finally:
            upstream.release()

    def _response_headers(self, upstream: aiohttp.ClientResponse, *, keep_length: bool) -> list[tuple[str, str]]:
        f = self.faults
        drop = {"transfer-encoding", "connection", "keep-alive"}
        if not keep_length:
            drop.add("content-length")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in upstream.raw_headers
            if k.decode("latin-1").lower() not in drop
        ]
        if f.get("drop-response-header"):
            headers = [(k, v) for k, v in headers if k.lower() != f["drop-response-header"].lower()]
        if "add-response-header" in f:
            headers.append(("x-fault-proxy", "1"))
        if self._recodes(upstream):  # bodies go out decoded (and re-encoded by gzip-per-event)
            headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
            if "gzip-per-event" in f:
                headers.append(("Content-Encoding", "gzip"))
        if "header-case" in f:
            headers = [(k.upper(), v) for k, v in headers]
        return headers

    def _recodes(self, upstream: aiohttp.ClientResponse) -> bool:
        """Whether the body is decoded on the way (to edit it, or as the fault itself)."""
        is_sse = "text/event-stream" in upstream.headers.get("content-type", "")
        edits = SSE_EDITS if is_sse else JSON_EDITS
        return bool(edits & set(self.faults)) and (
            "content-encoding" in upstream.headers or "gzip-per-event" in self.faults)

    async def _write(self, response: web.StreamResponse, data: bytes) -> None:
        if "rechunk" in self.faults:
            for start in range(0, len(data), 37):  # an odd size: boundaries fall inside events and lines
                await response.write(data[start:start + 37])
                await asyncio.sleep(0)
        elif data:
            await response.write(data)

    async def _respond(
        self, request: web.Request, upstream: aiohttp.ClientResponse, stream_request: bool
    ) -> web.StreamResponse:
        f = self.faults
        is_sse = "text/event-stream" in upstream.headers.get("content-type", "")
        if upstream.status >= 400 and (
            {"wrap-errors", "errors-to-500", "generic-error-message"} & set(f)
            or ("stream-errors-as-sse" in f and stream_request)
        ):
            return await self._error(request, upstream, stream_request)
        if not is_sse:
            body = await upstream.read()
            request[UPSTREAM_BODY] = [body]
            if self._recodes(upstream):
                body = decode_body(body, upstream.headers.get("content-encoding"))
                body = edit_json_body(self.faults, body)
                if "gzip-per-event" in f:
                    body = zlib.compress(body, wbits=31)
            else:
                body = edit_json_body(self.faults, body)
            response = web.StreamResponse(status=upstream.status)
            for k, v in self._response_headers(upstream, keep_length=False):
                response.headers.add(k, v)
            response.content_length = len(body)
            await response.prepare(request)
            await self._write(response, body)
            await response.write_eof()
            return response
        return await self._stream(request, upstream)

    async def _error(
        self, request: web.Request, upstream: aiohttp.ClientResponse, stream_request: bool
    ) -> web.StreamResponse:
        f = self.faults
        body = await upstream.read()
        request[UPSTREAM_BODY] = [body]
        if "stream-errors-as-sse" in f and stream_request:
            payload = {"type": "error", "error": json.loads(body).get("error", {})}
            response = web.StreamResponse(status=200, headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            await response.write(encode_event("error", payload))
            await response.write_eof()
            return response
        if "generic-error-message" in f:  # the Anthropic envelope and status kept, the upstream's words hidden
            data = json.loads(body)
            data["error"]["message"] = "The upstream service returned an error."
            return web.json_response(data, status=upstream.status)
        if "wrap-errors" in f:
            wrapped = {
                "error": {
                    "message": body.decode(errors="replace"),
                    "type": "None",
                    "param": "None",
                    "code": str(upstream.status),
                }
            }
            return web.json_response(wrapped, status=upstream.status)
        return web.json_response({"error": {"message": "upstream failed", "type": "api_error"}}, status=500)

    async def _stream(self, request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        f = self.faults
        headers = self._response_headers(upstream, keep_length=False)
        if "sse-content-type" in f:
            headers = [(k, "application/json" if k.lower() == "content-type" else v) for k, v in headers]
        response = web.StreamResponse(status=upstream.status)
        for k, v in headers:
            response.headers.add(k, v)
        await response.prepare(request)
        started = time.monotonic()
        cut_after = float(f["cut-after"]) if "cut-after" in f else None
        idle = float(f["idle-timeout"]) if "idle-timeout" in f else None
        reframe = bool(SSE_EDITS & set(f))
        content = ContentDecoder(upstream.headers.get("content-encoding") if self._recodes(upstream) else None)
        gzip = zlib.compressobj(wbits=31) if "gzip-per-event" in f else None
        delay = float(f["delay-per-event"]) / 1000 if "delay-per-event" in f else 0.0
        decoder = SseDecoder()
        held: list[bytes] = []
        while True:
            wait = None
            if cut_after is not None:
                wait = max(cut_after - (time.monotonic() - started), 0.001)
            if idle is not None:
                wait = idle if wait is None else min(wait, idle)
            try:
                chunk = await asyncio.wait_for(upstream.content.readany(), timeout=wait)
            except TimeoutError:
                if request.transport is not None:
                    request.transport.abort()  # the way a proxy timeout ends a stream: mid-body
                return response
            if not chunk:
                break
            request.setdefault(UPSTREAM_BODY, []).append(chunk)
            out = chunk
            if reframe:
                events = [edit_event(self.faults, e.name, e.raw, e.data) for e in decoder.feed(content.feed(chunk))]
                if delay or gzip is not None:  # one write per event: held, compressed and flushed on its own
                    for event in filter(None, events):
                        if delay:
                            held = time.monotonic()
                            await asyncio.sleep(delay)
                            if self._in_flight == 1:
                                self.event_holds_ms.append((time.monotonic() - held) * 1000)
                        if gzip is not None:
                            event = gzip.compress(event) + gzip.flush(zlib.Z_SYNC_FLUSH)
                        await self._write(response, event)
                    continue
                out = b"".join(filter(None, events))
            if "buffer-stream" in f:
                held.append(out)
            elif out:
                await self._write(response, out)
        for part in held:
            await self._write(response, part)
        if gzip is not None:
            await self._write(response, gzip.flush())
        await response.write_eof()
        return response
