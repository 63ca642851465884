"""The shim's settings: where it forwards, and every limit that keeps it an edge proxy (the README lists them)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


@dataclass
class ShimConfig:
    """How one shim instance runs (flags and ``SHIM_*`` environment variables, see ``python -m conformance.shim``)."""

    upstream: str
    placement: str = "back"
    """``back``: between LiteLLM and Anthropic (translates OAuth headers, strips the gateway's key); ``front``:
    facing clients (restores errors); ``both``."""
    host: str = "127.0.0.1"
    port: int = 8788
    connect_timeout: float = 10.0
    """Seconds to open a TCP connection to the upstream (waiting for a pool slot does not count: there is none)."""
    idle_timeout: float = 600.0
    """Longest silence allowed between two chunks of a response (a thinking model can pause for minutes)."""
    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers once it starts one (slow clients are closed)."""
    keepalive_timeout: float = 75.0
    """Seconds an idle client connection is kept open between requests."""
    upstream_keepalive_timeout: float = 4.0
    """Seconds an idle upstream connection is kept for reuse: under the upstream's own keep-alive (uvicorn, which
    LiteLLM runs on, closes after 5 s), so a request is never sent on a connection the upstream is closing (it
    came back as a dropped connection: a request body that streams through cannot be sent again)."""
    max_connections: int = 4096
    """Client connections open at once; one more is answered 529 ``overloaded_error`` and closed. Lowered at start
    so that every connection and its upstream connection fit in the process's file limit."""
    max_headers: int = 128
    """Request headers per request; more is answered 400."""
    max_header_bytes: int = 16 * 1024
    """Longest request header line; longer is answered 400 (keeps header work linear and small)."""
    max_request_headers_bytes: int = 60 * 1024
    """All of a request's header section together (Envoy's ``max_request_headers_kb`` default); more is answered
    431 and the connection closed while the headers are still arriving."""
    delayed_close_timeout: float = 1.0
    """After answering a request it refuses mid-upload (431), seconds the shim keeps reading and dropping what the
    client still sends before it closes (Envoy's delayed_close_timeout): closing at once would reset the connection
    and the client would lose the answer."""
    body_idle_timeout: float = 15.0
    """Longest silence between two chunks of a request body once its headers are in (408)."""
    body_timeout: float = 300.0
    """Longest a request body may take in all once its headers are in (408)."""
    min_body_rate: int = 4096
    """Bytes per second a request body must average once it has taken 5 s (a trickle holds a connection slot)."""
    max_body: int = 64 * 1024 * 1024
    """Largest request body; larger is answered 413 ``request_too_large``. Bodies stream, never held whole."""
    max_error_body: int = 1024 * 1024
    """Front placement: an error body is inspected up to this size; a longer one streams through untouched."""
    drain_timeout: float = 30.0
    """On SIGTERM: stop accepting, let requests in flight finish for up to this long, then close."""
    strip_headers: tuple[str, ...] = ("x-litellm-api-key",)
    """Back placement: the gateway's own credentials, never forwarded to Anthropic."""
    drop_headers: tuple[str, ...] = ("cookie", "forwarded", "x-forwarded-*", "via", "x-real-ip")
    """Back placement: what the client or LiteLLM says about itself, never forwarded to Anthropic (``*`` ends a
    prefix). Cookies are kept by nobody: the shim has no cookie jar either way."""

    @property
    def upstream_for_display(self) -> str:
        """The upstream URL without any ``user:password``, as logs and the health answer show it."""
        return safe_url(self.upstream)


def safe_url(url: str) -> str:
    """``url`` with its userinfo removed (``https://u:p@host/`` → ``https://host/``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
