"""Squid (Debian's ``squid``) as an egress CONNECT forward proxy, started from ``fixtures/squid/connect.conf``.

* ``squid``: clients set ``HTTPS_PROXY`` to it; it allows ``CONNECT api.anthropic.com:443`` and nothing else (like
  ``envoy-connect``). The tunnel carries the client's TLS session to the API end to end.

There is no DNS here: the run gives Squid a hosts file where api.anthropic.com is the loopback address on which the
reference upstream answers port 443 (binding 443 needs root); the production variant resolves the name.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ..core._exceptions import PathUnsupported
from ..core._fixtures import FIXTURES_DIR
from ..core._vocab import COMMON_FEATURES, Feature
from ..upstream import UPSTREAM_HOSTNAME
from ._base import EgressPath, UpstreamSide
from ._family import ConfigTemplates, Family, apt_prepare
from ._process import GatewayProcess, free_port
from ._system import system_binary, tool_version

PACKAGE = "squid"
TEMPLATES = ConfigTemplates(FIXTURES_DIR / "squid", "conf", {
    "LISTEN_ADDRESS": "0.0.0.0", "LISTEN_PORT": "3128", "RUN_DIR": "/run", "LOG_DIR": "/var/log/squid",
    "SHUTDOWN_LIFETIME": "60 seconds", "ROUTE_LINES": ""})
_TEST_ROUTE = """
# This run only: api.anthropic.com is the reference upstream (no DNS here). A deployment resolves the name.
hosts_file $hosts
"""


@dataclass
class SquidConnectPath(GatewayProcess):
    """One Squid in the foreground (``-N``), its logs and pid file in a folder of its own."""

    template: str = "connect"
    forward_proxy: bool = True

    def start(self, upstream: UpstreamSide) -> None:
        self.require_tls_upstream(upstream)
        binary = system_binary("squid", PACKAGE)
        self.version = tool_version(binary, r"Version (\S+)")
        address = None
        if upstream.api_address is not None:  # the reference upstream: no DNS here (live: Squid resolves the name)
            try:
                address = upstream.api_address()
            except PermissionError as exc:
                raise PathUnsupported(f"{self.name}: the upstream cannot answer on port 443 here ({exc})") from None
        self.listen_port, self.ca_pem = free_port(), upstream.ca_pem
        run_dir = Path(tempfile.mkdtemp(prefix="egress-squid-"))
        (run_dir / "hosts").write_text(f"{address} {UPSTREAM_HOSTNAME}\n" if address else "")
        if os.geteuid() == 0:
            _give_to_squid_user(run_dir)  # as root Squid drops to its cache_effective_user (proxy) for its logs
        route = Template(_TEST_ROUTE).substitute(hosts=run_dir / "hosts") if address else ""
        config = run_dir / "squid.conf"
        config.write_text(TEMPLATES.render(self.template, LISTEN_ADDRESS="127.0.0.1", LISTEN_PORT=str(self.listen_port),
                                 RUN_DIR=str(run_dir), LOG_DIR=str(run_dir), SHUTDOWN_LIFETIME="1 seconds",
                                 ROUTE_LINES=route))
        self.launch([binary, "-N", "-f", str(config)], work_dir=run_dir, config=self.template, package=PACKAGE)


def _give_to_squid_user(folder: Path) -> None:
    import pwd

    try:
        user = pwd.getpwnam("proxy")
    except KeyError:
        return
    os.chown(folder, user.pw_uid, user.pw_gid)


def make_squid(name: str, options: dict[str, str]) -> EgressPath:
    return SquidConnectPath(name=name, mode="connect-proxy", features=COMMON_FEATURES | {Feature.CONNECT_ALLOWLIST})


FAMILY = Family("squid", {"squid": make_squid}, prepare=apt_prepare([PACKAGE], ["squid"]),
                production_configs=TEMPLATES.production_configs("connect"))
