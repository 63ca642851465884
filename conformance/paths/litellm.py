"""LiteLLM paths: any release from PyPI in its own cached virtualenv, started offline against the upstream.

* ``litellm`` — the Anthropic pass-through, ``POST /anthropic/v1/messages``.
* ``litellm-unified`` — the Anthropic-format endpoint, ``POST /v1/messages`` (and ``/v1/messages/count_tokens``).

Target options (``litellm[key=…,retries=…]``):

* ``key=server`` (default) — the proxy holds a standard API key; clients send only the LiteLLM key.
* ``key=server-oauth`` — the proxy holds an OAuth token (the seed's rig).
* ``key=client-oauth`` — clients bring their own OAuth token and authenticate to LiteLLM in ``x-litellm-api-key``.
* ``retries=off`` (default) pins retries and cooldowns off; ``retries=default`` leaves LiteLLM's defaults.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import httpx

from ..core._exceptions import PathError
from ..core._fixtures import FIXTURES_DIR
from ..core._install import cached_install, venv_install
from ..core._install import is_installed as folder_installed
from ..core._redact import register_secret
from ..core._settings import Settings
from ..core._vocab import COMMON_FEATURES
from ._base import EgressPath, UpstreamSide
from ._family import Family
from ._process import ManagedProcess, free_port

CONFIG_DIR = FIXTURES_DIR / "litellm"
# Releases from 1.110 need a proxy extra (litellm-proxy) the package index does not serve: their proxy dependencies
# come from the last release whose extra resolves (set-up doc, "Install").
DEPENDENCY_DONOR = "1.108.7"
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "DISABLE_SCHEMA_UPDATE": "True",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "LITELLM_TELEMETRY": "False",
}
KEY_PLACEMENTS = ("server", "server-oauth", "client-oauth")
# The custom callback every LiteLLM target loads (fixtures/litellm/usage_recorder.py), as a cost projection would.
USAGE_CALLBACK = "usage_recorder.recorder"


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def is_installed(version: str, cache_dir: Path) -> bool:
    """Whether release ``version`` is already in its virtualenv under ``cache_dir`` (no install is attempted)."""
    return folder_installed(cache_dir / f"litellm-{version}")


def ensure_release(version: str, cache_dir: Path, *, say: Callable[[str], None] | None = None) -> Path:
    """The virtualenv with LiteLLM ``version`` installed, installing it first when needed (one line on failure)."""
    if not re.fullmatch(r"\d+\.\d+\.\d+(\.post\d+|rc\d+)?", version):
        raise PathError(f"LiteLLM release {version!r} is not a version number")
    what = f"LiteLLM {version}"

    def install(venv: Path) -> None:
        if _version_tuple(version) >= (1, 110, 0):
            venv_install(venv, [[f"litellm[proxy]=={DEPENDENCY_DONOR}"], ["--no-deps", f"litellm=={version}"],
                                ["semver>=3.0.4,<4", "backports-zstd>=1.0.0,<2.0"]], what)
        else:
            venv_install(venv, [[f"litellm[proxy]=={version}"]], what)

    return cached_install(cache_dir / f"litellm-{version}", what, install, say)


@dataclass
class LiteLLMPath(EgressPath):
    """One LiteLLM proxy process; ``route`` is ``passthrough`` (/anthropic) or ``unified`` (/v1/messages)."""

    route: str = "passthrough"
    key: str = "server"
    retries: str = "off"
    release: str | None = None
    process: ManagedProcess | None = None
    master_key: str = ""
    usage_log: Path | None = None

    def start(self, upstream: UpstreamSide) -> None:
        version = self.release or upstream.settings.litellm_version
        venv = ensure_release(version, upstream.settings.cache_dir)
        self.version = version
        # A fixed key can be given for tests (sentinel redaction); otherwise a fresh one per run.
        self.master_key = upstream.settings.litellm_master_key or "sk-" + secrets.token_hex(16)
        register_secret(self.master_key)
        port = free_port()
        work = Path(tempfile.mkdtemp(prefix="egress-litellm-"))
        retry = (CONFIG_DIR / f"retries-{self.retries}.yaml").read_text()
        # Every usage record LiteLLM hands its callbacks goes to a file (the accounting.* checks read it); the
        # callback module sits next to the config, where LiteLLM looks for it.
        retry = retry.replace("litellm_settings:\n", f"litellm_settings:\n  callbacks: [\"{USAGE_CALLBACK}\"]\n", 1)
        config = Template((CONFIG_DIR / "config.yaml").read_text()).substitute(
            UPSTREAM_URL=upstream.base_url, RETRY_SETTINGS=retry)
        (work / "config.yaml").write_text(config)
        shutil.copy(CONFIG_DIR / "usage_recorder.py", work / "usage_recorder.py")
        self.usage_log = work / "usage.jsonl"
        credentials = upstream.credentials
        server_key = {"server": credentials.api_key, "server-oauth": credentials.oauth_token}.get(self.key, "")
        env = dict(OFFLINE_ENV)  # on top of the machine's basics only (ManagedProcess): no key of the user's
        env.update(EGRESS_USAGE_LOG=str(self.usage_log), LITELLM_MASTER_KEY=self.master_key,
                   ANTHROPIC_API_BASE=upstream.base_url, ANTHROPIC_BASE_URL=upstream.base_url,
                   ANTHROPIC_API_KEY=server_key, HOME=str(work))
        self.process = ManagedProcess(
            f"litellm-{version}",
            [str(venv / "bin" / "litellm"), "--config", str(work / "config.yaml"), "--host", "127.0.0.1",
             "--port", str(port)], env=env, cwd=str(work), work_dir=work)
        self.process.start()
        ready = self.process.wait_ready(lambda: self._alive(port), timeout=120)
        self.proxy_headers = [("x-litellm-api-key", self.master_key)]
        self.holds_credential = {"server": "api-key", "server-oauth": "oauth"}.get(self.key)
        if self.holds_credential == "api-key":
            self.features = self.features - {"oauth"}
            self.unsupported_reasons["oauth"] = "key=server: the proxy injects its own API key"
        suffix = "/anthropic" if self.route == "passthrough" else ""
        self.base_url = f"http://127.0.0.1:{port}{suffix}"
        self.metadata.update({"route": self.route, "key": self.key, "retries": self.retries,
                              "startup_to_ready_s": round(ready, 2), "rss_mb": self.process.rss_mb()})

    def usage_records(self) -> list[dict[str, Any]] | None:
        """What the usage callback (fixtures/litellm/usage_recorder.py) recorded so far, one dict per event."""
        if self.usage_log is None or not self.usage_log.exists():
            return []
        records = []
        for line in self.usage_log.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:  # a line being written right now
                continue
        return records

    @staticmethod
    def _alive(port: int) -> bool:
        response = httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=2, trust_env=False, verify=False)
        return response.status_code == 200

    def stop(self) -> None:
        if self.process is not None:
            self.metadata["rss_mb_at_end"] = self.process.rss_mb()
            self.metadata["log_tail"] = self.process.log_tail(3)
            self.process.stop()


def _make(route: str):  # type: ignore[no-untyped-def]
    def make(name: str, options: dict[str, str]) -> EgressPath:
        key = options.get("key", "server")
        if key not in KEY_PLACEMENTS:
            raise PathError(f"target {name}: key must be one of {', '.join(KEY_PLACEMENTS)}")
        retries = options.get("retries", "off")
        if retries not in ("off", "default"):
            raise PathError(f"target {name}: retries must be off or default")
        mode = f"{'pass-through /anthropic' if route == 'passthrough' else 'unified /v1/messages'}, key={key}, " \
               f"retries={retries}"
        return LiteLLMPath(name=name, route=route, key=key, retries=retries, mode=mode,
                           release=options.get("version"), features=COMMON_FEATURES)

    return make


make_litellm = _make("passthrough")
make_litellm_unified = _make("unified")

def prepare(options: dict[str, str], settings: Settings, say: Callable[[str], None]) -> None:
    """Install the release a target runs (``version=`` in its word, else the run's default) before the run."""
    ensure_release(options.get("version") or settings.litellm_version, settings.cache_dir, say=say)


# The options of every target that starts a LiteLLM (the shim's start one too).
OPTIONS = {"version": "the LiteLLM release (default: the pin or --litellm-version)",
           "key": f"where the upstream credential is held ({', '.join(KEY_PLACEMENTS)})",
           "retries": "LiteLLM's own retries (off or default)"}
FAMILY = Family("litellm", {"litellm": make_litellm, "litellm-unified": make_litellm_unified}, prepare=prepare,
                options=OPTIONS)
