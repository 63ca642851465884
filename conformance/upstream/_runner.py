"""``ReferenceUpstream``: the upstream started in a background thread, with its journal readable in-process."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from aiohttp import web

from ._config import UpstreamConfig
from ._journal import UpstreamJournal
from ._server import UpstreamApp
from ._tls import UPSTREAM_HOSTNAME, LocalCA


class ReferenceUpstream:
    """A local api.anthropic.com on a free loopback port.

    Usage::

        with ReferenceUpstream() as upstream:
            httpx.post(upstream.base_url + "/v1/messages", ...)
            upstream.journal.last(cid)

    **Parameters:**

    * **config** - credentials and switches (``UpstreamConfig``).
    * **tls** - serve HTTPS with a certificate for ``api.anthropic.com`` from a per-run local CA.
    * **host** / **port** - where to listen; port 0 picks a free port.
    """

    def __init__(
        self,
        config: UpstreamConfig | None = None,
        *,
        tls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        ca: LocalCA | None = None,
    ) -> None:
        self.config = config or UpstreamConfig()
        self.journal = UpstreamJournal()
        self.tls = tls
        self.host = host
        self.port = port
        self.ca = ca if ca is not None else (LocalCA.create() if tls else None)
        self._app = UpstreamApp(self.config, self.journal)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (or ``https://…`` with TLS; connect there, send SNI api.anthropic.com)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def hostname(self) -> str:
        return UPSTREAM_HOSTNAME

    def start(self) -> ReferenceUpstream:
        """Start serving; returns once the port is bound."""
        self._thread = threading.Thread(target=self._serve, name="reference-upstream", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"reference upstream did not start: {self._error}")
        return self

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
        loop.run_until_complete(self._unbind())
        loop.close()

    async def _bind(self) -> None:
        self._runner = web.AppRunner(self._app.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        ssl_context = self.ca.server_context() if (self.tls and self.ca) else None
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_context)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _unbind(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop serving and join the thread (open streams are closed)."""
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def reset(self) -> None:
        """Forget the journal and the prompt cache."""
        self.journal.clear()
        self._app.cache.clear()

    def __enter__(self) -> ReferenceUpstream:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
