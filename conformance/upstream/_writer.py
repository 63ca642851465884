"""Writing one response: the journaling writer (every chunk with its send time) and the JSON and error answers."""

from __future__ import annotations

import random
import time
import zlib
from typing import Any

from aiohttp import web

from ..core._errors import envelope_bytes
from ..core._sse import compact_json
from ..core._wire import Headers
from ._config import UpstreamConfig
from ._headers import response_headers
from ._journal import JournalEntry
from ._problems import ApiError


class ResponseWriter:
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
        if self.request.method == "HEAD":  # the headers (Content-Length included) as for GET, never a body
            return
        if data:
            self.entry.chunks.append((time.time(), data))
            await self.response.write(data)

    async def finish(self) -> web.StreamResponse:
        assert self.response is not None
        self.entry.completed = True
        await self.response.write_eof()
        return self.response

    async def whole(self, status: int, headers: list[tuple[str, str]], data: bytes) -> web.StreamResponse:
        """Send a body of known length in one write."""
        await self.start(status, headers, length=len(data))
        await self.write(data, last=True)
        return await self.finish()


def _gzip_body(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=31)
    return compressor.compress(data) + compressor.flush()


async def send_json(writer: ResponseWriter, headers: list[tuple[str, str]], payload: Any) -> web.StreamResponse:
    """A 200 JSON answer, gzip-compressed as a whole when the client accepts it (as the real API does)."""
    data = compact_json(payload).encode()
    if writer.gzip:
        data = _gzip_body(data)
        writer.gzip = False  # already compressed as a whole; keep the header
        headers = headers + [("Content-Encoding", "gzip"), ("vary", "Accept-Encoding")]
    return await writer.whole(200, headers, data)


async def send_error(writer: ResponseWriter, error: ApiError, config: UpstreamConfig, rng: random.Random,
                     requests_remaining: int) -> web.StreamResponse:
    """The API's error answer: the envelope (never compressed) with the headers that go with its status."""
    if writer.response is not None:  # the stream had begun: an error now can only be an SSE event
        raise error
    writer.gzip = False
    request_id = None if error.null_request_id else writer.entry.request_id
    data = envelope_bytes(error.error_type or "api_error", error.message or "", request_id)
    headers = response_headers(
        content_type="application/json",
        request_id=writer.entry.request_id or "",
        organization_id=config.organization_id if error.authenticated else None,
        rng=rng,
        ratelimit=error.status == 429,
        requests_remaining=0 if error.status == 429 else requests_remaining,
    )
    if error.retry_after is not None:
        headers.append(("retry-after", str(error.retry_after)))
    if not error.omit_should_retry:
        headers.append(("x-should-retry", "true" if error.should_retry else "false"))
    headers += error.extra_headers
    return await writer.whole(error.status, headers, data)
