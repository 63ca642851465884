"""Portkey's open-source AI gateway (npm ``@portkey-ai/gateway``), its Anthropic route, as an egress path.

* ``portkey``: clients send their Anthropic requests to the gateway with ``x-portkey-provider: anthropic`` and
  ``x-portkey-custom-host`` naming the API (here the reference upstream), as Portkey's docs set up Claude Code.

Installed into the cache like Claude Code, from ``fixtures/portkey/package.json``: it pins ``@hono/node-server``
to 1.14.1 because every later release makes the gateway answer a streamed ``/v1/messages`` with a 500
("TypeError: immutable"), whichever gateway release. Started with ``fixtures/portkey/loopback.mjs`` so that it
listens on loopback only (it has no option for the address).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ..core._exceptions import PathError, ToolMissing
from ..core._fixtures import FIXTURES_DIR
from ..core._install import cached_install, is_installed, run_install_step
from ..core._settings import Settings, load_pins
from ._base import EgressPath, UpstreamSide
from ._family import Family
from ._process import GatewayProcess, free_port

PORTKEY_DIR = FIXTURES_DIR / "portkey"



def _release() -> str:
    return load_pins().tools["portkey_gateway"]


def _prefix(cache_dir: Path) -> Path:
    return cache_dir / f"portkey-gateway-{_release()}"


def ensure_portkey(cache_dir: Path, say: Callable[[str], None] | None = None) -> Path:
    """The npm prefix holding the pinned gateway, installed on first use; PathError when npm is missing."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise PathError("node/npm not installed")
    what = f"Portkey gateway {_release()}"

    def install(prefix: Path) -> None:
        prefix.mkdir(parents=True, exist_ok=True)
        manifest = Template((PORTKEY_DIR / "package.json").read_text()).substitute(RELEASE=_release())
        (prefix / "package.json").write_text(manifest)
        run_install_step([npm, "install", "--no-audit", "--no-fund"], what, timeout=600, cwd=prefix)

    return cached_install(_prefix(cache_dir), what, install, say)


@dataclass
class PortkeyPath(GatewayProcess):
    """One gateway process (``start-server.js --headless``) on a free loopback port."""

    def start(self, upstream: UpstreamSide) -> None:
        prefix = _prefix(upstream.settings.cache_dir)
        node = shutil.which("node")
        if node is None:
            raise ToolMissing("node not installed (apt-get install nodejs npm)")
        if not is_installed(prefix):
            raise ToolMissing(f"Portkey gateway {_release()} not installed (python -m conformance prepare "
                              f"--target={self.name})")
        self.version = _release()
        self.listen_port = free_port()
        server = prefix / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
        self.launch([node, "--import", (PORTKEY_DIR / "loopback.mjs").as_uri(), str(server),
                     f"--port={self.listen_port}", "--headless"], timeout=30, package="@portkey-ai/gateway")
        self.route_headers = [("x-portkey-provider", "anthropic"),
                              ("x-portkey-custom-host", f"{upstream.base_url}/v1")]


def make_portkey(name: str, options: dict[str, str]) -> EgressPath:
    return PortkeyPath(name=name, mode="ai-gateway, Anthropic provider")


def prepare(options: dict[str, str], settings: Settings, say: Callable[[str], None]) -> None:
    """Install the pinned gateway from npm into the cache before the run."""
    ensure_portkey(settings.cache_dir, say)


FAMILY = Family("portkey", {"portkey": make_portkey}, prepare=prepare)
