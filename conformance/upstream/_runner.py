"""``ReferenceUpstream``: the upstream started in a background thread, with its journal readable in-process."""

from __future__ import annotations

import errno
import random
import shutil
import threading
from types import TracebackType

from ..core._background import BackgroundServer
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
    * **also_tls** - serve plain HTTP on ``port`` and HTTPS on ``tls_port``, one journal for both.
    """

    def __init__(
        self,
        config: UpstreamConfig | None = None,
        *,
        tls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        ca: LocalCA | None = None,
        also_tls: bool = False,
    ) -> None:
        self.config = config or UpstreamConfig()
        self.journal = UpstreamJournal()
        self.tls = tls
        self.host = host
        self.port = port
        self.also_tls = also_tls
        self.ca = ca if ca is not None else (LocalCA.create() if (tls or also_tls) else None)
        self._own_ca = ca is None and self.ca is not None
        self.tls_port: int | None = None
        """With ``also_tls``: the port where the same upstream (same journal) serves HTTPS for api.anthropic.com."""
        self._app = UpstreamApp(self.config, self.journal)
        self._server: BackgroundServer | None = None
        self._api_address: str | None = None
        self._api_lock = threading.Lock()

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
        ssl_context = self.ca.server_context() if (self.tls and self.ca) else None
        extra = self.ca.server_context() if (self.also_tls and self.ca) else None
        self._server = BackgroundServer(
            self._app.app,
            host=self.host,
            port=self.port,
            ssl_context=ssl_context,
            name="reference-upstream",
            extra_tls=extra,
        )
        self._server.start()
        self.port = self._server.port
        self.tls_port = self._server.tls_port
        return self

    def api_address(self) -> str:
        """A loopback address where this upstream answers HTTPS on port 443 as api.anthropic.com, bound on first
        use: for a gateway that resolves the name itself (a hosts file) and connects to port 443. Raises
        PermissionError where port 443 cannot be bound (not root, no CAP_NET_BIND_SERVICE)."""
        with self._api_lock:
            if self._api_address is None:
                assert self._server is not None and self.ca is not None, "start() with tls or also_tls first"
                self._api_address = self._bind_api_address()
            return self._api_address

    def _bind_api_address(self) -> str:
        assert self._server is not None and self.ca is not None
        # 127.0.0.0/8 is all loopback: a random address of it makes port 443 free for this run, beside any other.
        for _ in range(20):
            address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
            try:
                self._server.add_site(address, 443, self.ca.server_context())
                return address
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM):
                    raise PermissionError("port 443 needs root or CAP_NET_BIND_SERVICE") from None
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(errno.EADDRINUSE, "no free loopback address for port 443")

    def stop(self) -> None:
        """Stop serving and join the thread (open streams are closed); the folder of a CA it made is removed."""
        if self._server is not None:
            self._server.stop()
        self._server = None
        if self._own_ca and self.ca is not None:
            shutil.rmtree(self.ca.ca_pem.parent, ignore_errors=True)

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
