"""The reference upstream's HTTP server: routes, the response writer that journals every chunk, and pacing."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import zlib
from typing import Any

from aiohttp import web

from .._errors import envelope_bytes
from .._ids import request_id as new_request_id
from .._sse import compact_json, encode_event
from .._wire import Headers
from . import _replay
from ._auth import authenticate, check_version
from ._cache import PromptCache
from ._config import UpstreamConfig
from ._directive import Directive, find_directive
from ._headers import response_headers
from ._journal import JournalEntry, UpstreamJournal
from ._model import answer, count_tokens
from ._problems import ApiError
from ._render import message_json, sse_events
from ._thinking import verify_history
from ._validate import check_messages, check_model, parse_body

CONTROL_PREFIX = "/_conformance"
MODELS = (
    ("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
)


class _Writer:
    """Writes one response and journals its headers and every chunk with the time it was sent."""

    def __init__(self, request: web.Request, entry: JournalEntry, gzip: bool) -> None:
        self.request = request
        self.entry = entry
        self.gzip = gzip
        """Whether to compress; a handler may turn it off until ``start`` (errors and replays never compress)."""
        self._compressor: zlib._Compress | None = None  # type: ignore[name-defined]
        self.response: web.StreamResponse | None = None

    async def start(self, status: int, headers: list[tuple[str, str]], length: int | None = None) -> None:
        response = web.StreamResponse(status=status)
        for name, value in headers:
            response.headers.add(name, value)
        if self.gzip:
            response.headers.add("Content-Encoding", "gzip")
            response.headers.add("vary", "Accept-Encoding")
            self._compressor = zlib.compressobj(wbits=31)
        if length is not None:
            response.content_length = length
        await response.prepare(self.request)
        self.response = response
        self.entry.status = status
        self.entry.response_headers = Headers(response.headers.items())

    async def write(self, data: bytes, *, last: bool = False) -> None:
        """Send one chunk; ``last`` marks the response complete before its final bytes can reach the client."""
        assert self.response is not None
        if self._compressor is not None:
            data = self._compressor.compress(data) + self._compressor.flush(
                zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
            )
        # Journal first: a client may read the last byte before this coroutine resumes.
        self.entry.completed = self.entry.completed or last
        if data:
            self.entry.chunks.append((time.time(), data))
            await self.response.write(data)

    async def finish(self) -> None:
        assert self.response is not None
        self.entry.completed = True
        await self.response.write_eof()


def _gzip_body(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=31)
    return compressor.compress(data) + compressor.flush()


class UpstreamApp:
    """The aiohttp application behind ``ReferenceUpstream``; all state lives here."""

    def __init__(self, config: UpstreamConfig, journal: UpstreamJournal) -> None:
        self.config = config
        self.journal = journal
        self.cache = PromptCache(config.min_cacheable_tokens)
        self.rng = random.Random(config.seed)
        self.requests_remaining = 20000
        self.app = web.Application(client_max_size=config.max_body_bytes * 2)
        self.app.router.add_route("GET", CONTROL_PREFIX + "/health", self.health)
        self.app.router.add_route("GET", CONTROL_PREFIX + "/journal", self.read_journal)
        self.app.router.add_route("DELETE", CONTROL_PREFIX + "/journal", self.clear_journal)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    # -- control channel (not journaled) -------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "entries": len(self.journal)})

    async def read_journal(self, request: web.Request) -> web.Response:
        cid = request.query.get("cid")
        since = int(request.query.get("since", "0"))
        entries = [e.to_json() for e in self.journal.entries(cid) if e.seq > since]
        return web.json_response({"entries": entries})

    async def clear_journal(self, request: web.Request) -> web.Response:
        self.journal.clear()
        self.cache.clear()
        return web.json_response({"cleared": True})

    # -- the API ---------------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        received_at = time.time()
        too_large = (request.content_length or 0) > self.config.max_body_bytes
        body = b"" if too_large else await request.read()
        if len(body) > self.config.max_body_bytes:
            too_large = True
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                parsed = None
        directive = find_directive(parsed)
        cid = directive.cid or request.headers.get("x-ec-cid") or request.query.get("ec_cid")
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        entry = JournalEntry(
            seq=self.journal.next_seq(),
            cid=cid,
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
            body=body,
            received_at=received_at,
            sni=getattr(ssl_object, "egress_sni", None),
            tls=ssl_object is not None,
            request_id=new_request_id(self.rng),
            scenario=dict(directive.values),
        )
        self.journal.add(entry)
        accepts_gzip = self.config.gzip and "gzip" in request.headers.get("Accept-Encoding", "")
        writer = _Writer(request, entry, accepts_gzip)
        try:
            if too_large:
                raise ApiError(413)
            replay = directive.get("replay")
            if replay is not None:
                return await self._replay(writer, replay)
            return await self._route(request, parsed, body, directive, writer)
        except ApiError as error:
            return await self._error(writer, error)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug in the upstream must still answer in the API's shape
            return await self._error(writer, ApiError(500, f"reference upstream bug: {type(exc).__name__}: {exc}"))

    async def _route(
        self, request: web.Request, parsed: Any, body: bytes, directive: Directive, writer: _Writer
    ) -> web.StreamResponse:
        path, method = request.path, request.method
        known = {
            ("POST", "/v1/messages"),
            ("POST", "/v1/messages/count_tokens"),
            ("GET", "/v1/models"),
        }
        is_model = method == "GET" and path.startswith("/v1/models/") and path.count("/") == 3
        if (method, path) not in known and not is_model:
            raise ApiError(404, "Not Found")
        headers = request.headers
        authenticate(
            headers.get("x-api-key"), headers.get("authorization"), headers.getall("anthropic-beta", []), self.config
        )
        check_version(headers.getall("anthropic-version", []), self.config)
        if path == "/v1/models":
            return await self._json(writer, 200, self._model_page(request))
        if is_model:
            model_id = path.rsplit("/", 1)[1]
            for info in self._model_infos():
                if info["id"] == model_id:
                    return await self._json(writer, 200, info)
            raise ApiError(404, f"model: {model_id}")
        parsed = parse_body(body)
        check_messages(parsed, needs_max_tokens=path == "/v1/messages")
        status = directive.int("status", 0)
        if status >= 400:
            raise self._scenario_error(status, directive)
        check_model(parsed["model"])
        if path == "/v1/messages/count_tokens":
            return await self._json(writer, 200, {"input_tokens": count_tokens(parsed)})
        verify_history(self.config.signing_key, parsed["messages"])
        usage = self.cache.account(parsed)
        result = answer(parsed, directive, self.config, usage, self.rng)
        delay = directive.float("delay", 0.0)
        if delay > 0:  # a slow model: nothing is sent until the answer is ready
            await asyncio.sleep(delay)
        if parsed.get("stream") is True:
            return await self._stream(writer, sse_events(result), directive)
        return await self._json(writer, 200, message_json(result))

    def _scenario_error(self, status: int, directive: Directive) -> ApiError:
        should = directive.get("should_retry")
        retry_after = directive.get("retry_after")
        error = ApiError(status, should_retry=None if should in (None, "none") else should == "true")
        error.omit_should_retry = should == "none"
        if retry_after is not None and retry_after != "none":
            error.retry_after = int(float(retry_after))
        elif retry_after is None and status == 429:
            error.retry_after = self.config.retry_after_seconds
        return error

    # -- writers ---------------------------------------------------------------------------------------------

    def _headers(self, writer: _Writer, content_type: str, *, authenticated: bool, sse: bool = False) -> list:
        self.requests_remaining -= 1
        return response_headers(
            content_type=content_type,
            request_id=writer.entry.request_id or "",
            organization_id=self.config.organization_id if authenticated else None,
            rng=self.rng,
            ratelimit=authenticated,
            requests_remaining=self.requests_remaining,
            sse=sse,
        )

    async def _json(self, writer: _Writer, status: int, payload: Any) -> web.StreamResponse:
        data = compact_json(payload).encode()
        if writer.gzip:
            data = _gzip_body(data)
            writer.gzip = False  # already compressed as a whole; keep the header
            headers = self._headers(writer, "application/json", authenticated=True)
            headers += [("Content-Encoding", "gzip"), ("vary", "Accept-Encoding")]
        else:
            headers = self._headers(writer, "application/json", authenticated=True)
        await writer.start(status, headers, length=len(data))
        await writer.write(data, last=True)
        await writer.finish()
        assert writer.response is not None
        return writer.response

    async def _error(self, writer: _Writer, error: ApiError) -> web.StreamResponse:
        if writer.response is not None:  # the stream had begun: an error now can only be an SSE event
            raise error
        writer.gzip = False
        request_id = None if error.null_request_id else writer.entry.request_id
        data = envelope_bytes(error.error_type or "api_error", error.message or "", request_id)
        headers = response_headers(
            content_type="application/json",
            request_id=writer.entry.request_id or "",
            organization_id=self.config.organization_id if error.authenticated else None,
            rng=self.rng,
            ratelimit=error.status == 429,
            requests_remaining=0 if error.status == 429 else self.requests_remaining,
        )
        if error.retry_after is not None:
            headers.append(("retry-after", str(error.retry_after)))
        if not error.omit_should_retry:
            headers.append(("x-should-retry", "true" if error.should_retry else "false"))
        headers += error.extra_headers
        await writer.start(error.status, headers, length=len(data))
        await writer.write(data, last=True)
        await writer.finish()
        assert writer.response is not None
        return writer.response

    async def _stream(
        self, writer: _Writer, events: list[tuple[str, dict[str, Any], bool]], directive: Directive
    ) -> web.StreamResponse:
        await writer.start(200, self._headers(writer, "text/event-stream; charset=utf-8", authenticated=True, sse=True))
        interval = directive.float("interval", 0.0) / 1000.0
        duration = directive.float("duration", 0.0)
        if duration > 0:
            interval = duration / max(len(events) - 1, 1)
        gap = directive.float("gap", 0.0)
        stop_after = directive.int("after", 1)
        midstream, cut = directive.get("midstream"), directive.get("cut") == "1"
        deltas_sent = 0
        least_padding = 1 if directive.get("padding") == "nonzero" else 0
        for position, (name, payload, is_delta) in enumerate(events):
            if position and interval:
                await asyncio.sleep(interval)
            await writer.write(encode_event(name, payload, self.rng.randrange(least_padding, 16)))
            if not is_delta:
                continue
            deltas_sent += 1
            if deltas_sent == 1 and gap:
                await asyncio.sleep(gap)
            if deltas_sent == stop_after and midstream:
                error_type = midstream
                message = "Overloaded" if error_type == "overloaded_error" else "Internal server error"
                error = {
                    "type": "error",
                    "error": {"details": None, "type": error_type, "message": message},
                    "request_id": writer.entry.request_id,
                }
                await writer.write(f"event: error\ndata: {compact_json(error)}\n\n".encode(), last=True)
                await writer.finish()
                assert writer.response is not None
                return writer.response
            if deltas_sent == stop_after and cut:
                if writer.request.transport is not None:
                    writer.request.transport.abort()
                raise ConnectionResetError("scenario cut the stream")
        await writer.write(b"", last=True)
        await writer.finish()
        assert writer.response is not None
        return writer.response

    async def _replay(self, writer: _Writer, spec: str) -> web.StreamResponse:
        try:
            recording = _replay.find(spec)
        except (FileNotFoundError, IndexError, ValueError):
            raise ApiError(404, f"recording: {spec}") from None
        writer.gzip = False
        if recording.is_sse and not recording.is_gzip:
            await writer.start(recording.status, recording.headers)
            for match in re.finditer(rb".*?\n\n|.+", recording.body, re.DOTALL):
                await writer.write(match.group(0))
            writer.entry.completed = True
        else:
            length = None if recording.chunked else len(recording.body)
            await writer.start(recording.status, recording.headers, length=length)
            await writer.write(recording.body, last=True)
        await writer.finish()
        assert writer.response is not None
        return writer.response

    def _model_infos(self) -> list[dict[str, Any]]:
        return [{"type": "model", "id": i, "display_name": n, "created_at": c} for i, n, c in MODELS]

    def _model_page(self, request: web.Request) -> dict[str, Any]:
        infos = self._model_infos()
        limit = int(request.query.get("limit", "20"))
        page = infos[:limit]
        return {
            "data": page,
            "has_more": len(infos) > len(page),
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }
