"""The shim's HTTP server: streams both directions unbuffered, translates OAuth headers, restores wrapped errors."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import TextIO

import aiohttp
from aiohttp import web

from .._redact import redact
from .._wire import REQUEST_ID_HEADER, Headers
from ._translate import restore_error, translate_auth

HEALTH_PATH = "/shim/health"
MAX_ERROR_BODY = 1024 * 1024  # an error body larger than this is passed on untouched, never held in memory


@dataclass
class ShimConfig:
    """How one shim instance runs (flags and ``SHIM_*`` environment variables, see ``python -m conformance.shim``)."""

    upstream: str
    placement: str = "back"
    """``back``: between LiteLLM and Anthropic (translates OAuth headers); ``front``: facing clients (restores
    errors); ``both``."""
    host: str = "127.0.0.1"
    port: int = 8788
    connect_timeout: float = 10.0
    idle_timeout: float = 600.0
    """Longest silence allowed between two chunks of a response (a thinking model can pause for minutes)."""
    max_body: int = 64 * 1024 * 1024


class ShimApp:
    def __init__(self, config: ShimConfig, log: TextIO = sys.stderr) -> None:
        self.config = config
        self.log = log
        self.app = web.Application(client_max_size=config.max_body)
        self.app.router.add_route("GET", HEALTH_PATH, self.health)
        self.app.router.add_route("*", "/{tail:.*}", self.proxy)
        self.app.on_cleanup.append(self._close)
        self._session: aiohttp.ClientSession | None = None

    async def _close(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "placement": self.config.placement,
                                  "upstream": self.config.upstream})

    def _access_log(self, **fields: object) -> None:
        self.log.write(redact(json.dumps(fields, ensure_ascii=False)) + "\n")
        self.log.flush()

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        translate = self.config.placement in ("back", "both")
        restore = self.config.placement in ("front", "both")
        headers: list[tuple[str, str]] = _received(request.raw_headers)
        if translate:
            headers = translate_auth(headers)
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=None, connect=self.config.connect_timeout,
                                            sock_read=self.config.idle_timeout)
            self._session = aiohttp.ClientSession(auto_decompress=False, timeout=timeout)
        url = self.config.upstream.rstrip("/") + request.path_qs
        # Request bodies are bounded (client_max_size) and read whole, so upstream framing is plain Content-Length.
        body = await request.read() if request.body_exists else None
        try:
            upstream = await self._session.request(
                request.method, url, headers=headers, data=body,
                skip_auto_headers={"User-Agent", "Accept", "Accept-Encoding", "Content-Type"},
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The client sees what it would see from an unreachable API: no invented response body.
            self._access_log(event="upstream-unreachable", method=request.method, path=request.path,
                             error=type(exc).__name__)
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("upstream unreachable") from None
        try:
            response = await self._relay(request, upstream, restore)
        finally:
            upstream.release()
        self._access_log(event="request", method=request.method, path=request.path, status=upstream.status,
                         ms=round((time.perf_counter() - started) * 1000, 1),
                         auth="translated" if translate and any(k == "authorization" for k, _ in headers) else "kept")
        return response

    async def _relay(self, request: web.Request, upstream: aiohttp.ClientResponse, restore: bool
                     ) -> web.StreamResponse:
        out_headers = _received(upstream.raw_headers)
        status = upstream.status
        small = (upstream.content_length or 0) <= MAX_ERROR_BODY
        if restore and status >= 400 and small and "json" in upstream.headers.get("content-type", ""):
            body = await upstream.read()
            restored = restore_error(status, body) if not upstream.headers.get("content-encoding") else None
            if restored is not None:
                status, body, request_id = restored
                if request_id and not out_headers.has(REQUEST_ID_HEADER):
                    out_headers.append((REQUEST_ID_HEADER, request_id))
            response = web.Response(status=status, body=body)
            for k, v in out_headers:
                response.headers.add(k, v)
            return response
        response = web.StreamResponse(status=status)
        for k, v in out_headers:
            response.headers.add(k, v)
        await response.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
        except (TimeoutError, aiohttp.ClientError):
            # A stream the upstream dropped is dropped for the client too, mid-body, as it would be without us.
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response


def _received(raw: tuple[tuple[bytes, bytes], ...]) -> Headers:
    """Raw headers as they arrived (case and order kept), without the hop-by-hop ones each hop sets itself."""
    return Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw).end_to_end()
