"""nginx as an egress reverse proxy (Debian's ``nginx-light``), started from ``fixtures/nginx/`` templates.

* ``nginx``: the settings transparency depends on (HTTP/1.1 upstream, no buffering, SNI and certificate check,
  long timeouts, a 64m body cap); ``fixtures/nginx/prod/`` holds the deployable variant.
* ``nginx-defaults``: proxy_pass and a Host header, everything else nginx's defaults — a negative control.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core._fixtures import FIXTURES_DIR
from ..upstream import UPSTREAM_HOSTNAME
from ._base import EgressPath, UpstreamSide
from ._family import ConfigTemplates, Family, apt_prepare
from ._process import GatewayProcess, free_port
from ._system import system_binary, tool_version

PACKAGE = "nginx-light"
TEMPLATES = ConfigTemplates(FIXTURES_DIR / "nginx", "conf", {
    "USER_LINE": "", "RUN_DIR": "/var/lib/nginx", "LISTEN_ADDRESS": "0.0.0.0", "LISTEN_PORT": "8080",
    "UPSTREAM_HOST": UPSTREAM_HOSTNAME, "UPSTREAM_TLS_PORT": "443", "CA_PEM": "/etc/ssl/certs/ca-certificates.crt"})


@dataclass
class NginxPath(GatewayProcess):
    """One nginx master with one worker, its config and temp files in a folder of its own."""

    template: str = "reverse"

    def start(self, upstream: UpstreamSide) -> None:
        self.require_tls_upstream(upstream)
        binary = system_binary("nginx", PACKAGE)
        self.version = tool_version(binary, r"nginx/(\S+)")
        self.listen_port = free_port()
        run_dir = Path(tempfile.mkdtemp(prefix="egress-nginx-"))
        run_dir.chmod(0o755)  # workers run as an unprivileged user when the master is root
        config = TEMPLATES.render(
            self.template, USER_LINE="user root;" if os.geteuid() == 0 else "", RUN_DIR=str(run_dir),
            LISTEN_ADDRESS="127.0.0.1", LISTEN_PORT=str(self.listen_port), UPSTREAM_HOST=upstream.tls_host,
            UPSTREAM_TLS_PORT=str(upstream.tls_port), CA_PEM=upstream.ca_pem)
        (run_dir / "nginx.conf").write_text(config)
        self.launch([binary, "-c", str(run_dir / "nginx.conf"), "-p", str(run_dir), "-e", str(run_dir / "error.log")],
                    work_dir=run_dir, config=self.template, package=PACKAGE)


def make_nginx(name: str, options: dict[str, str]) -> EgressPath:
    return NginxPath(name=name, template="reverse", mode="reverse-proxy")


def make_nginx_defaults(name: str, options: dict[str, str]) -> EgressPath:
    return NginxPath(name=name, template="defaults", mode="reverse-proxy, nginx defaults")


FAMILY = Family("nginx", {"nginx": make_nginx, "nginx-defaults": make_nginx_defaults},
                prepare=apt_prepare([PACKAGE], ["nginx"]), production_configs=TEMPLATES.production_configs("reverse"))
