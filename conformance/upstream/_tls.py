"""A per-run local CA (trustme) and a server certificate for ``api.anthropic.com``."""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

UPSTREAM_HOSTNAME = "api.anthropic.com"


@dataclass
class LocalCA:
    """A CA made for this run, with its PEM written where clients and proxies can read it."""

    ca: trustme.CA
    ca_pem: Path
    hostnames: tuple[str, ...]

    @classmethod
    def create(cls, hostnames: tuple[str, ...] = (UPSTREAM_HOSTNAME, "localhost", "127.0.0.1"),
               directory: Path | None = None) -> LocalCA:
        """A new CA, its PEM written into ``directory`` (default: a new temporary folder)."""
        ca = trustme.CA(organization_name="egress-conformance local CA")
        directory = directory or Path(tempfile.mkdtemp(prefix="egress-conformance-ca-"))
        pem = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(pem))
        return cls(ca=ca, ca_pem=pem, hostnames=hostnames)

    def server_context(self, sni_seen: list[str] | None = None) -> ssl.SSLContext:
        """A server context for the upstream; the SNI each handshake carried is stored on its SSL object."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert(*self.hostnames).configure_cert(context)
        context.set_alpn_protocols(["http/1.1"])

        def remember_sni(ssl_object: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
            ssl_object.egress_sni = server_name  # type: ignore[attr-defined]
            return None

        context.sni_callback = remember_sni  # type: ignore[assignment]
        return context
