"""The shim's edge protections, below the request handlers: a connection cap answered in Anthropic's overload
shape, a header-read timeout, parser errors answered and logged as the shim's own (redacted, one JSON line), and a
graceful drain on SIGTERM. Built on aiohttp's server; the protections follow Envoy's edge-proxy practices."""

from __future__ import annotations

import asyncio
import ctypes
import json
import resource
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ..core._errors import envelope_bytes, kind_for
from ..core._redact import redact
from ._config import ShimConfig


class AccessLog:
    """One JSON line per event, every value redacted; repeated overload lines are summed once a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._overloads = 0
        self._overload_logged = 0.0

    def write(self, **fields: object) -> None:
        self.stream.write(redact(json.dumps(fields, ensure_ascii=False, default=str)) + "\n")
        self.stream.flush()

    def overload(self, what: str) -> None:
        self._overloads += 1
        now = time.monotonic()
        if now - self._overload_logged >= 1.0:
            self.write(event="overloaded", what=what, count=self._overloads)
            self._overloads, self._overload_logged = 0, now


def error_response(status: int, message: str, *, close: bool = True) -> bytes:
    """A whole HTTP/1.1 response in the API's error shape (for answers given below the request handlers)."""
    kind = kind_for(status)
    body = envelope_bytes(kind.type, message, None)
    reason = {400: "Bad Request", 408: "Request Timeout", 413: "Payload Too Large", 529: "Overloaded"}.get(status,
                                                                                                          "Error")
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"x-should-retry: {'true' if kind.should_retry else 'false'}\r\n"
            + ("connection: close\r\n" if close else "") + "\r\n")
    return head.encode() + body


def api_error(status: int, message: str) -> web.Response:
    """An answer of the shim's own, in the API's error shape with the catalogue's ``x-should-retry``."""
    kind = kind_for(status)
    response = web.Response(status=status, body=envelope_bytes(kind.type, message, None),
                            content_type="application/json")
    response.headers["x-should-retry"] = "true" if kind.should_retry else "false"
    return response


DRAIN_CLEANUP_S = 0.25
"""Of the drain deadline, what is kept for closing connections and the upstream pool after requests are cut."""


class EdgeState:
    """What every connection of one shim shares: the open-connection count, its cap, the log."""

    def __init__(self, config: ShimConfig, log: AccessLog) -> None:
        self.config = config
        self.log = log
        self.connections = 0
        self.handlers: set[EdgeHandler] = set()
        """Every open connection's handler: the drain closes the ones still open at its deadline."""
        self.cap = connection_cap(config.max_connections)
        self._trim: asyncio.TimerHandle | None = None

    def idle(self, loop: asyncio.AbstractEventLoop) -> None:
        """No connection is open: give the memory of the last burst back to the system a second later (the C
        allocator keeps freed buffers otherwise, and the shim's memory would stay at its busiest)."""
        if self._trim is None:
            self._trim = loop.call_later(1.0, self._release_memory)

    def _release_memory(self) -> None:
        self._trim = None
        if self.connections == 0:
            _malloc_trim()


def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered so that each client connection and its upstream connection fit in the file limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:  # a proxy wants its files: raise the soft limit as far as allowed
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return max(1, min(wanted, (soft - 64) // 2))


class EdgeHandler(RequestHandler):
    """aiohttp's connection handler with the shim's limits around it."""

    def __init__(self, manager: web.Server, state: EdgeState, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.state = state
        self._rejected = False
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_request = False
        """Headers parsed and no answer finished yet: body bytes of this request never arm the header timer."""
        self._fresh_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        """Bytes of the current request's header section so far (capped at ``max_request_headers_bytes``)."""
        self._head_tail = b""
        self._closing = False
        """An answer is sent and the connection is closing: what still arrives is dropped, not parsed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.state.connections >= self.state.cap:  # answered at once, not left to hang in the backlog
            self._rejected = True
            self.state.log.overload("connections")
            transport.write(error_response(529, "Overloaded"))  # type: ignore[attr-defined]
            transport.close()
            return
        self.state.connections += 1
        self.state.handlers.add(self)
        super().connection_made(transport)
        # A connection that never sends a byte is closed quietly after the keep-alive time (a client's preconnect
        # may sit idle for seconds); the header timer starts with the first byte of each request, as Envoy's
        # request_headers_timeout does, so a quiet connection is never answered 408 just as its request arrives.
        self._fresh_timer = self._loop.call_later(self.state.config.keepalive_timeout, self._close_fresh)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._rejected:
            return
        self.state.connections -= 1
        self.state.handlers.discard(self)
        self._cancel_header_timer()
        if self._fresh_timer is not None:
            self._fresh_timer.cancel()
        if self.state.connections == 0:
            self.state.idle(self._loop)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if self._fresh_timer is not None:
            self._fresh_timer.cancel()
            self._fresh_timer = None
        if not self._in_request:
            if self._header_timer is None:  # the first byte of a new request
                self._arm_header_timer()
            if self._too_many_header_bytes(data):
                return
        super().data_received(data)

    def _too_many_header_bytes(self, data: bytes) -> bool:
        """Count this request's header bytes as they arrive; past the cap, answer 431 and close before the parser
        holds any more of them (each header line alone is capped by the parser, their total was not)."""
        window = self._head_tail + data
        end = window.find(b"\r\n\r\n")
        self._head_bytes += (len(data) if end == -1 else max(0, end + 4 - len(self._head_tail)))
        self._head_tail = window[-3:]
        if self._head_bytes <= self.state.config.max_request_headers_bytes:
            return False
        self.state.log.write(event="bad-request", status=431, error="header section too large",
                             bytes=self._head_bytes)
        self._cancel_header_timer()
        if self.transport is not None:
            self.transport.write(error_response(431, "request header section too large"))  # type: ignore
            self._close_after_answer()
        return True

    def _close_after_answer(self) -> None:
        """Close a connection whose client may still be sending: stop writing, drop what arrives, close after
        ``delayed_close_timeout`` (or when the client does), so the answer is read and not lost to a reset."""
        transport = self.transport
        assert transport is not None
        self._closing = True
        if transport.can_write_eof():  # type: ignore[attr-defined]
            transport.write_eof()  # type: ignore[attr-defined]
        self._loop.call_later(self.state.config.delayed_close_timeout, transport.close)

    def headers_complete(self) -> None:
        self._in_request = True
        self._head_bytes, self._head_tail = 0, b""
        self._cancel_header_timer()

    async def finish_response(self, request: Any, resp: Any, start_time: float | None) -> Any:
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            self._in_request = False

    def _close_fresh(self) -> None:
        self._fresh_timer = None
        if self.transport is not None and not self._in_request:
            self.transport.close()

    def _arm_header_timer(self) -> None:
        self._header_timer = self._loop.call_later(self.state.config.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        self.state.log.overload("slow-headers")
        if self.transport is not None:
            self.transport.write(error_response(408, "request headers not received in time"))  # type: ignore
            self.transport.close()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """A malformed request or a handler failure: one redacted log line and the API's error shape, never the
        parser's message (it quotes the request, credentials included) and never a traceback."""
        self.state.log.write(event="bad-request" if status < 500 else "shim-error", status=status,
                             error=type(exc).__name__ if exc else None)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        response = api_error(status, "malformed request" if status < 500 else "the shim failed to handle the request")
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        self.state.log.write(event="shim-error", error=type(exc).__name__ if isinstance(exc, BaseException) else None)


class EdgeRunner(web.AppRunner):
    """An ``AppRunner`` whose connections are ``EdgeHandler``s sharing one ``EdgeState``."""

    def __init__(self, app: web.Application, state: EdgeState, **kwargs: Any) -> None:
        config = state.config
        # auto_decompress off: a request body goes upstream byte for byte, with the Content-Encoding and length the
        # client gave it (decoded, a 1 MB gzip bomb became 1 GB sent upstream under a 1 MB Content-Length).
        super().__init__(app, access_log=None, handler_cancellation=True, keepalive_timeout=config.keepalive_timeout,
                         max_headers=config.max_headers, max_field_size=config.max_header_bytes,
                         max_line_size=config.max_header_bytes, shutdown_timeout=DRAIN_CLEANUP_S,
                         auto_decompress=False, **kwargs)
        self.state = state

    async def _make_server(self) -> web.Server:
        loop = asyncio.get_running_loop()
        app = self.app
        app._set_loop(loop)
        app.on_startup.freeze()
        await app.startup()
        app.freeze()
        state = self.state

        def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
            if isinstance(protocol, EdgeHandler):
                protocol.headers_complete()
            return app._make_request(message, payload, protocol, writer, task)

        class _Server(web.Server):
            def __call__(self) -> RequestHandler:
                return EdgeHandler(self, state, loop=self._loop, **self._kwargs)

        return _Server(app._handle, request_factory=make_request, loop=loop, **self._kwargs)


async def serve(app: web.Application, state: EdgeState, *, ready: Callable[[int], None] | None = None,
                stop: Callable[[], Awaitable[None]] | None = None) -> None:
    """Serve ``app`` until SIGTERM or SIGINT (or ``stop`` returns), then drain: stop accepting and let requests in
    flight finish for up to ``drain_timeout`` seconds."""
    config = state.config
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: _loop_problem(state, context))
    runner = EdgeRunner(app, state, handle_signals=False)
    await runner.setup()
    # The accept loop takes up to ``backlog`` connections at once before any rejected one is closed: a small
    # backlog keeps a burst of rejections inside the file limit the connection cap leaves free.
    site = web.TCPSite(runner, config.host, config.port, backlog=128)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    state.log.write(event="listening", host=config.host, port=port, placement=config.placement,
                    upstream=config.upstream_for_display, max_connections=state.cap)
    if ready is not None:
        ready(port)
    waiters = [asyncio.ensure_future(stopping.wait())] + ([asyncio.ensure_future(stop())] if stop else [])
    _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()
    await drain(runner, site, state)


async def drain(runner: web.AppRunner, site: web.TCPSite, state: EdgeState) -> None:
    """Stop accepting, let requests in flight finish, and close what is still open at ``drain_timeout``: one
    deadline from SIGTERM to exit (aiohttp's own shutdown waited its timeout twice, past Kubernetes' grace)."""
    config = state.config
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, config.drain_timeout - DRAIN_CLEANUP_S)
    state.log.write(event="draining", connections=state.connections, drain_timeout_s=config.drain_timeout)
    server = site._server  # the listening socket: closed first, so no new connection is taken
    if server is not None:
        server.close()
    for handler in list(state.handlers):
        handler.close()  # idle keep-alive connections close now, busy ones after their response
    while state.handlers and loop.time() < deadline:
        await asyncio.sleep(0.05)
    cut = len(state.handlers)
    for handler in list(state.handlers):
        handler.force_close()
        if handler.transport is not None:
            handler.transport.abort()
    await runner.cleanup()
    state.log.write(event="stopped", cut_connections=cut)


def _loop_problem(state: EdgeState, context: dict[str, Any]) -> None:
    """asyncio's own complaints (``accept() out of system resource`` when files run out) as the shim's log lines,
    summed once a second, never a traceback."""
    exc = context.get("exception")
    if isinstance(exc, OSError) and "accept" in str(context.get("message", "")):
        state.log.overload("accept")
        return
    state.log.write(event="loop-error", message=str(context.get("message", ""))[:200],
                    error=type(exc).__name__ if exc else None)


def run(config: ShimConfig, app: web.Application, log: AccessLog) -> None:
    """Run the shim in this process until SIGTERM (as ``python -m conformance.shim`` does)."""
    state = EdgeState(config, log)
    try:
        asyncio.run(serve(app, state))
    except OSError as exc:
        log.write(event="cannot-listen", host=config.host, port=config.port, error=exc.strerror or str(exc))
        sys.exit(2)
