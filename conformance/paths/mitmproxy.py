"""mitmproxy as a TLS-inspecting corporate proxy (PyPI ``mitmproxy``, in its own virtualenv in the cache).

* ``mitmproxy``: clients set ``HTTPS_PROXY`` to it and trust its CA (``NODE_EXTRA_CA_CERTS``, ``SSL_CERT_FILE``);
  it decrypts every request and re-encrypts it to api.anthropic.com, with the settings streaming needs
  (``fixtures/mitmproxy/config.yaml``).
* ``mitmproxy-defaults``: the same with mitmproxy's defaults (whole bodies held) — a negative control.

Its own virtualenv because mitmproxy pins an h11 that breaks httpx. The run routes api.anthropic.com to the
reference upstream with an addon (``fixtures/mitmproxy/route_to_upstream.py``); a deployment resolves the name.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core._exceptions import ToolMissing
from ..core._fixtures import FIXTURES_DIR
from ..core._install import cached_install, is_installed, venv_install
from ..core._settings import Settings, load_pins
from ._base import EgressPath, UpstreamSide
from ._family import ConfigTemplates, Family
from ._process import GatewayProcess, free_port

MITMPROXY_DIR = FIXTURES_DIR / "mitmproxy"
TEMPLATES = ConfigTemplates(MITMPROXY_DIR, "yaml", {
    "LISTEN_ADDRESS": "0.0.0.0", "LISTEN_PORT": "8080", "CA_PEM": "/etc/ssl/certs/ca-certificates.crt"})
# What mitmproxy does when a config leaves a setting out: the negative control keeps only the routing.
_DEFAULT_LINES = re.compile(r"^(stream_large_bodies|http2|ssl_insecure):.*\n", re.MULTILINE)


def _release() -> str:
    return load_pins().tools["mitmproxy"]


def _venv(cache_dir: Path) -> Path:
    return cache_dir / f"mitmproxy-{_release()}"


def ensure_mitmproxy(cache_dir: Path, say: Callable[[str], None] | None = None) -> Path:
    """The virtualenv with the pinned mitmproxy, installed from PyPI on first use."""
    what = f"mitmproxy {_release()}"

    def install(venv: Path) -> None:
        venv_install(venv, [[f"mitmproxy=={_release()}"]], what)

    return cached_install(_venv(cache_dir), what, install, say)


def mitmproxy_python(cache_dir: Path) -> Path | None:
    """The python of the installed mitmproxy virtualenv (it runs fixtures/mitmproxy/check_config.py), or None."""
    venv = _venv(cache_dir)
    return venv / "bin" / "python" if is_installed(venv) else None


@dataclass
class MitmproxyPath(GatewayProcess):
    """One ``mitmdump`` with a confdir of its own (its config and the CA it generates on first start, which
    clients trust: ``ca_pem`` is mitmproxy's, not the upstream's)."""

    defaults: bool = False
    forward_proxy: bool = True

    def start(self, upstream: UpstreamSide) -> None:
        self.require_tls_upstream(upstream)
        venv = _venv(upstream.settings.cache_dir)
        if not is_installed(venv):
            raise ToolMissing(f"mitmproxy {_release()} not installed (python -m conformance prepare "
                              f"--target={self.name})")
        self.version = _release()
        self.listen_port = free_port()
        confdir = Path(tempfile.mkdtemp(prefix="egress-mitmproxy-"))
        config = TEMPLATES.render("config", LISTEN_ADDRESS="127.0.0.1", LISTEN_PORT=str(self.listen_port),
                        CA_PEM=upstream.ca_pem)
        (confdir / "config.yaml").write_text(_DEFAULT_LINES.sub("", config) if self.defaults else config)
        self.ca_pem = str(confdir / "mitmproxy-ca-cert.pem")
        env = {"EGRESS_UPSTREAM_ADDRESS": f"{upstream.tls_host}:{upstream.tls_port}"}
        self.launch([str(venv / "bin" / "mitmdump"), "--set", f"confdir={confdir}", "-s",
                     str(MITMPROXY_DIR / "route_to_upstream.py")], env=env, timeout=30,
                    ready=lambda: Path(self.ca_pem or "").exists(), work_dir=confdir,
                    config="defaults" if self.defaults else "config")


def make_mitmproxy(name: str, options: dict[str, str]) -> EgressPath:
    return MitmproxyPath(name=name, mode="tls-inspecting-proxy")


def make_mitmproxy_defaults(name: str, options: dict[str, str]) -> EgressPath:
    return MitmproxyPath(name=name, mode="tls-inspecting-proxy, mitmproxy defaults", defaults=True)


def prepare(options: dict[str, str], settings: Settings, say: Callable[[str], None]) -> None:
    """Install the pinned mitmproxy into its virtualenv in the cache before the run."""
    ensure_mitmproxy(settings.cache_dir, say)


FAMILY = Family("mitmproxy", {"mitmproxy": make_mitmproxy, "mitmproxy-defaults": make_mitmproxy_defaults},
                prepare=prepare, production_configs=TEMPLATES.production_configs("config"))
