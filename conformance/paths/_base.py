"""What every egress path declares: how to start it, how a client reaches it, what it carries."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core._http import HarnessClient
from ..core._settings import Settings
from ..core._vocab import COMMON_FEATURES, Feature
from ..core._wire import API_KEY_HEADER, AUTHORIZATION, BETA_HEADER, OAUTH_BETA

if TYPE_CHECKING:
    from ._sandbox import AgentSandbox


@dataclass(frozen=True)
class Connection:
    """Where a client sends its requests: a base URL, plus TLS trust, an HTTPS proxy or a connect override."""

    base_url: str
    verify: ssl.SSLContext | bool = True
    proxy: str | None = None
    connect_to: tuple[str, int] | None = None
    """Send the TCP connect here while URL, Host, SNI and certificate check stay those of ``base_url``."""


@dataclass
class Credentials:
    """The Anthropic credentials a client holds for this run (the upstream accepts them)."""

    api_key: str
    oauth_token: str

    def headers(self, kind: str) -> list[tuple[str, str]] | None:
        """The headers credential ``kind`` is sent as (``api-key``: x-api-key; ``api-key-bearer``: the key as
        Bearer; ``oauth``: the token as Bearer with its beta), or None for a kind there is no such credential for.
        The one place that maps a kind to headers: clients, paths and the direct oracle all ask here."""
        if kind == "api-key":
            return [(API_KEY_HEADER, self.api_key)]
        if kind == "api-key-bearer":
            return [(AUTHORIZATION, f"Bearer {self.api_key}")]
        if kind == "oauth":
            return [(AUTHORIZATION, f"Bearer {self.oauth_token}"), (BETA_HEADER, OAUTH_BETA)]
        return None


@dataclass
class UpstreamSide:
    """What sits behind the path, as far as a path needs to know it to start."""

    base_url: str
    credentials: Credentials
    ca_pem: str | None = None
    tls_port: int | None = None
    tls_host: str = "127.0.0.1"
    """Where a gateway connects for TLS to the API: the reference upstream's loopback listener, or in live mode
    api.anthropic.com itself (port 443, ``ca_pem`` the system's bundle)."""
    settings: Settings = field(default_factory=Settings.from_env)
    """The run's settings: cache folder, default releases, a fixed LiteLLM key."""
    api_address: Callable[[], str] | None = None
    """A loopback address where the upstream answers TLS on port 443 as api.anthropic.com (bound when first
    asked; PermissionError without the privilege): for gateways that resolve the name themselves."""


@dataclass
class EgressPath:
    """An egress path under test. Subclasses start and stop real processes; this base describes one already there."""

    name: str
    base_url: str = ""
    family: str = "deployed"
    mode: str = "deployed"
    version: str = "unknown"
    features: frozenset[Feature] = COMMON_FEATURES
    unsupported_reasons: dict[str, str] = field(default_factory=dict)
    """Why a missing feature is missing (shown in the ``unsupported`` verdict)."""
    proxy_headers: list[tuple[str, str]] = field(default_factory=list)
    """Headers that authenticate the client to the path itself; they must never reach the upstream."""
    route_headers: list[tuple[str, str]] = field(default_factory=list)
    """Headers that tell the path where a request goes (Portkey's ``x-portkey-provider``); not credentials."""
    holds_credential: str | None = None
    """The credential kind the path injects upstream (``api-key`` / ``oauth``); None when it forwards the client's."""
    usage_record_lag_s: float = 15.0
    """How long the path's accounting may take to write a request's usage record after the response (LiteLLM's
    callbacks log asynchronously); a record not there by then is missing."""
    metadata: dict[str, Any] = field(default_factory=dict)

    def start(self, upstream: UpstreamSide) -> None:
        """Start the path against ``upstream`` (nothing to do for a deployed path)."""

    def stop(self) -> None:
        """Stop everything ``start`` started; safe to call twice and after a failed start."""

    def pids(self) -> list[int]:
        """The processes this path runs (their memory is the path's); none for a path the harness did not start."""
        process = getattr(getattr(self, "process", None), "process", None)
        return [process.pid] if process is not None else []

    def exit_reason(self, settle: float = 0.0) -> str | None:
        """Why a path the harness started is gone (its process exited), or None while it runs or when it was not
        started here; ``settle`` seconds are given to a process whose sockets closed a moment before it exits."""
        managed = getattr(self, "process", None)
        process = getattr(managed, "process", None)
        if process is None:
            return None
        try:
            process.wait(settle) if settle else process.poll()
        except subprocess.TimeoutExpired:
            pass
        return None if process.returncode is None else f"{self.name} exited with code {process.returncode}"

    def reach_address(self) -> tuple[str, int]:
        """Where a client's TCP connect goes (for the start-up reachability probe and the allowlist checks)."""
        parts = urlsplit(self.base_url)
        return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)

    def connection(self) -> Connection:
        """How any client (the harness's, the SDK) reaches the path."""
        return Connection(self.base_url)

    def agent_sandbox(self) -> AgentSandbox | None:
        """The sandbox the path itself runs agents in (srt's), or None: then the run makes one where the path needs
        it (``sandbox_for``)."""
        return None

    def usage_records(self) -> list[dict[str, Any]] | None:
        """The usage records the path's own accounting kept so far (one per request it logged), or None when the
        path keeps no accounting a cost projection could read (a plain proxy)."""
        return None

    def client(self, timeout: float) -> HarnessClient:
        """A client that reaches the path."""
        c = self.connection()
        return HarnessClient(c.base_url, timeout=timeout, verify=c.verify, proxy=c.proxy, connect_to=c.connect_to)

    def client_auth(self, kind: str, credentials: Credentials) -> list[tuple[str, str]] | None:
        """Headers the client sends for credential ``kind`` (``api-key``, ``api-key-bearer``, ``oauth``), or None.

        The path's own ``proxy_headers`` and ``route_headers`` always go along; a path that holds its credential
        gets only those.
        """
        if self.holds_credential is not None:
            return list(self.proxy_headers) + list(self.route_headers)
        own = credentials.headers(kind)
        if own is None:
            return None
        return own + list(self.proxy_headers) + list(self.route_headers)

    def expected_upstream_auth(self, kind: str, credentials: Credentials) -> tuple[str, str]:
        """``(header name, value)`` the upstream should receive when the client used credential ``kind``."""
        # Any other kind is graded as the OAuth token sent as Bearer.
        headers = credentials.headers(self.holds_credential or kind) or credentials.headers("oauth")
        assert headers is not None
        return headers[0]

    def describe(self) -> dict[str, Any]:
        """Run metadata for the report."""
        return {
            "name": self.name,
            "family": self.family,
            "mode": self.mode,
            "version": self.version,
            "base_url": self.base_url,
            "features": sorted(self.features),
            "unsupported": dict(self.unsupported_reasons),
            "holds_credential": self.holds_credential,
            **self.metadata,
        }
