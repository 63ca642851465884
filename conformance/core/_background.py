"""An aiohttp application served from a background thread on a loopback port (the upstream, the test proxies)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable

from aiohttp import web


async def end_other_tasks() -> None:
    """Cancel every other task of the running loop and wait for them to end: connections still open end inside
    the loop, not half-started or torn down when it stops or is collected."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class BackgroundServer:
    """Serves ``app`` in its own thread and event loop; ``start`` returns once the port is bound."""

    def __init__(
        self,
        app: web.Application,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        name: str = "background-server",
        extra_tls: ssl.SSLContext | None = None,
        make_runner: Callable[[web.Application], web.AppRunner] | None = None,
    ) -> None:
        self.app = app
        self.make_runner = make_runner
        """Builds the runner (e.g. the shim's, with its edge protections); default: a plain ``AppRunner``."""
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.name = name
        # When given, the same app is also served over TLS on a second free port, ``tls_port``.
        self.extra_tls = extra_tls
        self.tls_port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"{self.name} did not start: {self._error}")

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._bind())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        if self._runner is not None:
            loop.run_until_complete(self._runner.cleanup())
        # A handler still running past the runner's shutdown timeout (a proxy holding a request) ends here, not as
        # "Task was destroyed but it is pending!" when the closed loop is collected.
        loop.run_until_complete(end_other_tasks())
        loop.close()

    async def _bind(self) -> None:
        if self.make_runner is not None:
            self._runner = self.make_runner(self.app)
        else:
            # A tenth of a second to drain: what it serves is the harness's own (an upstream, a test proxy), so a
            # stream still open when it stops is cut and an interrupted run ends at once (0.5 s of drain, twice
            # over its two sites, was most of the second a Ctrl-C took to end a run).
            self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        self.port = await self._site(self.host, self.port, self.ssl_context)
        if self.extra_tls is not None:
            self.tls_port = await self._site(self.host, 0, self.extra_tls)

    def add_site(self, host: str, port: int, ssl_context: ssl.SSLContext | None) -> int:
        """Also serve the app on ``host:port`` (from any thread, once started); the bound port. Raises OSError."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._site(host, port, ssl_context), self._loop)
        return future.result(10)

    async def _site(self, host: str, port: int, ssl_context: ssl.SSLContext | None) -> int:
        assert self._runner is not None
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        return int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    def stop(self) -> None:
        """Stop serving and join the thread (open connections are closed)."""
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None
