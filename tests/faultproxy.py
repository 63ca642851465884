"""A deliberately broken egress path: a reverse proxy that injects one named fault, so each check can be seen to fail.

With no fault it is transparent (hop-by-hop headers aside), which the tests verify too, so a failing check is the
fault's doing and nothing else's. Faults are ``name`` or ``name=argument``; see ``FAULTS``.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
import zlib
from typing import Any

import aiohttp
from aiohttp import web

from conformance._background import BackgroundServer
from conformance._encoding import ContentDecoder, decode_body
from conformance._sse import SseDecoder, compact_json, encode_event
from conformance._wire import HOP_BY_HOP

PROXY_KEY_HEADER = "x-litellm-api-key"

FAULTS = {
    "wrap-errors": "re-wrap an upstream error as LiteLLM did: {error:{message:<escaped JSON>,type:None,…}}",
    "errors-to-500": "answer every upstream error status with 500",
    "reserialize-json": "re-serialise JSON response bodies (same JSON, other bytes)",
    "drop-response-header": "drop the named response header (argument)",
    "drop-request-header": "drop the named request header (argument)",
    "add-response-header": "add a response header x-fault-proxy: 1",
    "add-request-header": "add a request header x-fault-proxy: 1",
    "buffer-stream": "read the whole upstream response before sending any of it",
    "cut-after": "abort a response that lasts longer than N seconds (argument)",
    "idle-timeout": "abort a response when the upstream is silent for N seconds (argument)",
    "reserialize-sse": "re-encode every SSE data payload compactly (drops padding, keeps JSON)",
    "drop-pings": "drop SSE ping events",
    "drop-sse-errors": "drop SSE error events",
    "sse-content-type": "send streams as application/json",
    "mutate-text": "change the text of text deltas and text blocks",
    "stream-errors-as-sse": "answer an error to a stream:true request as a 200 stream with an error event",
    "strip-cache-usage": "remove cache_* usage fields from responses",
    "strip-cache-control": "remove cache_control from the request body",
    "oauth-to-x-api-key": "move an Authorization: Bearer sk-ant-oat… token to x-api-key (the seed's LiteLLM)",
    "bearer-to-x-api-key": "move any Authorization: Bearer credential to x-api-key",
    "strip-beta": "drop anthropic-beta",
    "duplicate-beta": "send the oauth beta twice",
    "duplicate-version": "send anthropic-version twice",
    "leak-proxy-key": "forward the client's x-litellm-api-key upstream instead of stripping it",
    "drop-body-field": "drop a top-level request body field (argument)",
    "reserialize-request": "re-serialise the request body (same JSON, other bytes)",
    "drop-query": "drop the query string",
    "waf": "answer 403 to a request body containing <script>",
    "block-path": "answer 404 for the given path (argument)",
    "strip-schema-field": "drop additionalProperties from tool input_schema",
    "empty-tool-input": "replace tool_use input with {} (and drop input_json_delta)",
    "first-tool-use-only": "drop all but the first tool_use block",
    "strip-is-error": "drop is_error from tool_result blocks in the request",
    "reencode-signature": "change thinking signatures and redacted data in responses",
    "drop-signature-delta": "drop signature_delta events",
    "rewrite-tool-id": "change the id of every tool_use block in responses",
    "response-timeout": "answer 504 'upstream request timeout' when the upstream takes longer than N seconds",
    "tls-sni": "reach the upstream over TLS naming the given SNI instead of api.anthropic.com",
    "delay-per-event": "hold every SSE event N milliseconds before sending it (argument; a slow proxy's cost)",
    "decode-content": "remove the upstream's Content-Encoding (send bodies and streams decoded)",
    "html-502": "answer every request 502 with an HTML page, forwarding nothing (a gateway that is down)",
}
# Changes a transparent path may make: every check must still pass through them (content-encoding-kept aside,
# which exists to see the second one).
BENIGN = {
    "rechunk": "split every write into pieces of a few bytes, each flushed on its own",
    "gzip-per-event": "compress the response with gzip, flushed after every SSE event (as a CDN may)",
    "header-case": "send every response header name in upper case",
}
_JSON_EDITS = {"rewrite-tool-id", "reserialize-json", "strip-cache-usage", "mutate-text", "empty-tool-input",
               "first-tool-use-only", "reencode-signature", "decode-content", "gzip-per-event"}
_SSE_EDITS = {"rewrite-tool-id", "drop-pings", "drop-sse-errors", "reserialize-sse", "strip-cache-usage",
              "mutate-text", "empty-tool-input", "drop-signature-delta", "reencode-signature", "delay-per-event",
              "decode-content", "gzip-per-event"}


def _mutate_usage(usage: Any) -> None:
    if isinstance(usage, dict):
        for key in ("cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation"):
            usage.pop(key, None)


def _signature(value: str) -> str:
    return value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")


class FaultProxy:
    """A reverse proxy to ``upstream_url`` with the given faults switched on."""

    def __init__(self, upstream_url: str, *faults: str, tls_url: str | None = None) -> None:
        """With ``tls_url`` the proxy reaches the upstream over TLS there, naming SNI api.anthropic.com."""
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
        self._server = BackgroundServer(app, name="fault-proxy")
        self._session: aiohttp.ClientSession | None = None

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

    def _request_body(self, raw: bytes) -> bytes:
        f = self.faults
        edits = {
            "drop-body-field",
            "reserialize-request",
            "strip-cache-control",
            "strip-schema-field",
            "strip-is-error",
        }
        if not raw or not edits & set(f):
            return raw
        try:
            body = json.loads(raw)
        except ValueError:
            return raw
        if "drop-body-field" in f:
            body.pop(f["drop-body-field"], None)
        text = json.dumps(body)
        if "strip-cache-control" in f:
            text = re.sub(r',\s*"cache_control":\s*\{[^}]*\}', "", text)
        body = json.loads(text)
        for tool in body.get("tools") or []:
            if "strip-schema-field" in f:
                tool.get("input_schema", {}).pop("additionalProperties", None)
        for message in body.get("messages") or []:
            for block in message.get("content") if isinstance(message.get("content"), list) else []:
                if "strip-is-error" in f and block.get("type") == "tool_result":
                    block.pop("is_error", None)
        return json.dumps(body, indent=1).encode()

    # -- the exchange ----------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        f = self.faults
        raw = await request.read()
        if "html-502" in f:
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if f.get("block-path") == request.path:
            return web.json_response({"detail": "Not Found"}, status=404)
        if "waf" in f and b"<script>" in raw:
            return web.Response(status=403, text="<html>403 Forbidden</html>", content_type="text/html")
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
            data=self._request_body(raw),
            skip_auto_headers={"User-Agent", "Accept-Encoding", "Accept", "Content-Type"},
            timeout=aiohttp.ClientTimeout(total=120),
            **tls,
        )
        try:
            limit = float(f["response-timeout"]) if "response-timeout" in f else None
            upstream = await asyncio.wait_for(sending, timeout=limit)
        except TimeoutError:
            return web.Response(status=504, text="upstream request timeout", content_type="text/plain")
        try:
            return await self._respond(request, upstream, stream_request)
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
        edits = _SSE_EDITS if is_sse else _JSON_EDITS
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
            {"wrap-errors", "errors-to-500"} & set(f) or ("stream-errors-as-sse" in f and stream_request)
        ):
            return await self._error(request, upstream, stream_request)
        if not is_sse:
            body = await upstream.read()
            if self._recodes(upstream):
                body = decode_body(body, upstream.headers.get("content-encoding"))
                body = self._json_body(body)
                if "gzip-per-event" in f:
                    body = zlib.compress(body, wbits=31)
            else:
                body = self._json_body(body)
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
        if "stream-errors-as-sse" in f and stream_request:
            payload = {"type": "error", "error": json.loads(body).get("error", {})}
            response = web.StreamResponse(status=200, headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            await response.write(encode_event("error", payload))
            await response.write_eof()
            return response
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

    def _json_body(self, body: bytes) -> bytes:
        f = self.faults
        if not (_JSON_EDITS - {"decode-content", "gzip-per-event"}) & set(f):
            return body
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if isinstance(data, dict):
            if "strip-cache-usage" in f:
                _mutate_usage(data.get("usage"))
            content = data.get("content") if isinstance(data.get("content"), list) else []
            seen_tool = False
            kept = []
            for block in content:
                if block.get("type") == "text" and "mutate-text" in f:
                    block["text"] += " (edited)"
                if block.get("type") == "tool_use":
                    if "rewrite-tool-id" in f:
                        block["id"] = "toolu_01FAULTFAULTFAULTFAULTFAU"
                    if "empty-tool-input" in f:
                        block["input"] = {}
                    if seen_tool and "first-tool-use-only" in f:
                        continue
                    seen_tool = True
                if "reencode-signature" in f and block.get("type") == "thinking":
                    block["signature"] = _signature(block["signature"])
                if "reencode-signature" in f and block.get("type") == "redacted_thinking":
                    block["data"] = _signature(block["data"])
                kept.append(block)
            if content:
                data["content"] = kept
        return json.dumps(data).encode()

    def _event(self, name: str | None, raw: bytes, data: str) -> bytes | None:
        """One SSE event after the stream faults; None drops it."""
        f = self.faults
        if name == "ping" and "drop-pings" in f:
            return None
        if name == "error" and "drop-sse-errors" in f:
            return None
        edits = {
            "rewrite-tool-id",
            "reserialize-sse",
            "strip-cache-usage",
            "mutate-text",
            "empty-tool-input",
            "drop-signature-delta",
            "reencode-signature",
        }
        if not edits & set(f) or not data or name == "ping":
            return raw
        payload = json.loads(data)
        delta = payload.get("delta") if isinstance(payload.get("delta"), dict) else {}
        if delta.get("type") == "signature_delta" and "drop-signature-delta" in f:
            return None
        if delta.get("type") == "signature_delta" and "reencode-signature" in f:
            delta["signature"] = _signature(delta["signature"])
        if delta.get("type") == "input_json_delta" and "empty-tool-input" in f:
            return None
        if delta.get("type") == "text_delta" and "mutate-text" in f:
            delta["text"] = delta["text"].upper()
        block = payload.get("content_block") if isinstance(payload.get("content_block"), dict) else {}
        if block.get("type") == "tool_use" and "rewrite-tool-id" in f:
            block["id"] = "toolu_01FAULTFAULTFAULTFAULTFAU"
        if "strip-cache-usage" in f:
            _mutate_usage(payload.get("usage"))
            _mutate_usage((payload.get("message") or {}).get("usage"))
        return f"event: {name}\ndata: {compact_json(payload)}\n\n".encode()

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
        reframe = bool(_SSE_EDITS & set(f))
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
            out = chunk
            if reframe:
                events = [self._event(e.name, e.raw, e.data) for e in decoder.feed(content.feed(chunk))]
                if delay or gzip is not None:  # one write per event: held, compressed and flushed on its own
                    for event in filter(None, events):
                        if delay:
                            await asyncio.sleep(delay)
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
