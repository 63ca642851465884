"""HAProxy (Debian's ``haproxy``) as an egress path, started from ``fixtures/haproxy/`` templates.

* ``haproxy``: HTTP mode reverse proxy with TLS origination and the timeouts streaming needs.
* ``haproxy-sni``: TCP mode, TLS passed through, only SNI api.anthropic.com allowed (like ``envoy-sni``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core._fixtures import FIXTURES_DIR
from ..core._vocab import COMMON_FEATURES, Feature
from ..upstream import UPSTREAM_HOSTNAME
from ._base import EgressPath, UpstreamSide
from ._family import ConfigTemplates, Family, apt_prepare
from ._process import GatewayProcess, free_port
from ._system import system_binary, tool_version

PACKAGE = "haproxy"
TEMPLATES = ConfigTemplates(FIXTURES_DIR / "haproxy", "cfg", {
    "RUN_DIR": "/run/haproxy", "LISTEN_ADDRESS": "0.0.0.0", "UPSTREAM_HOST": UPSTREAM_HOSTNAME,
    "UPSTREAM_TLS_PORT": "443", "CA_PEM": "/etc/ssl/certs/ca-certificates.crt"}, {"reverse": "8080", "sni": "8443"})


@dataclass
class HaproxyPath(GatewayProcess):
    template: str = "reverse"

    def start(self, upstream: UpstreamSide) -> None:
        self.require_tls_upstream(upstream)
        binary = system_binary("haproxy", PACKAGE)
        self.version = tool_version(binary, r"version (\S+)")
        self.listen_port, self.ca_pem = free_port(), upstream.ca_pem
        run_dir = Path(tempfile.mkdtemp(prefix="egress-haproxy-"))
        config = run_dir / "haproxy.cfg"
        config.write_text(TEMPLATES.render(self.template, RUN_DIR=str(run_dir), LISTEN_ADDRESS="127.0.0.1",
                                 LISTEN_PORT=str(self.listen_port), UPSTREAM_HOST=upstream.tls_host,
                                 UPSTREAM_TLS_PORT=str(upstream.tls_port), CA_PEM=upstream.ca_pem))
        # -db: stay in the foreground, in the process group the reaper kills.
        self.launch([binary, "-db", "-f", str(config)], work_dir=run_dir, config=self.template, package=PACKAGE)


@dataclass
class HaproxySniPath(HaproxyPath):
    """The client talks TLS to api.anthropic.com; only its TCP connect goes to HAProxy."""

    template: str = "sni"
    sni_front: bool = True


def make_haproxy(name: str, options: dict[str, str]) -> EgressPath:
    return HaproxyPath(name=name, mode="reverse-proxy")


def make_haproxy_sni(name: str, options: dict[str, str]) -> EgressPath:
    return HaproxySniPath(name=name, mode="sni-allowlist", features=COMMON_FEATURES | {Feature.SNI_ALLOWLIST})


FAMILY = Family("haproxy", {"haproxy": make_haproxy, "haproxy-sni": make_haproxy_sni},
                prepare=apt_prepare([PACKAGE], ["haproxy"]),
                production_configs=TEMPLATES.production_configs("reverse", "sni"))
