"""Every setting of a run in one object: the pinned releases (``pins.toml``, package data), the cache and
expectations folders and the ``EGRESS_CONFORMANCE_*`` variables, read once when a run starts, never at import.

=====================================  ====================================================================
variable                               setting
=====================================  ====================================================================
``EGRESS_CONFORMANCE_CACHE``           ``cache_dir``: LiteLLM virtualenvs and Claude Code installs
                                       (default ``$XDG_CACHE_HOME/egress-conformance``, else ``~/.cache/…``)
``EGRESS_CONFORMANCE_EXPECTATIONS``    ``expectations_dir``: a repository's own expectations files
``EGRESS_CONFORMANCE_QUESTIONS``       ``questions_file``: the spike findings.md answers (``--questions`` wins;
                                       default ``fixtures/questions/spike-3.yaml``)
``EGRESS_CONFORMANCE_LITELLM_VERSION`` ``litellm_version`` (``--litellm-version`` wins)
``EGRESS_CONFORMANCE_CLAUDE_CODE_VERSION`` ``claude_code_version`` (``--claude-code-version`` wins)
``EGRESS_CONFORMANCE_TS_SDK_VERSION``  ``ts_sdk_version`` (``--ts-sdk-version`` wins)
``EGRESS_CONFORMANCE_AUTH``            ``proxy_auth``: headers that authenticate the client to a deployed gateway,
                                       one ``HEADER: VALUE`` per line (kept out of ``ps``, unlike ``--auth``)
``EGRESS_CONFORMANCE_API_KEY``         ``api_key``: the reference upstream's API key (sentinel tests)
``EGRESS_CONFORMANCE_OAUTH_TOKEN``     ``oauth_token``: the reference upstream's OAuth token
``EGRESS_CONFORMANCE_LITELLM_MASTER_KEY`` ``litellm_master_key`` (default: a fresh key per run)
``EGRESS_CONFORMANCE_CLAUDE_SLOTS``    ``claude_slots``: Claude Code runs at a time (default 12)
``ANTHROPIC_API_KEY``                  ``live_api_key``: the real key, for ``--upstream=live`` only
``CLAUDE_CODE_OAUTH_TOKEN``            ``live_oauth_token``: the real token, for ``--upstream=live`` only
=====================================  ====================================================================
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._exceptions import InputError
from ._fixtures import FIXTURES_DIR, SPIKE_QUESTIONS

PINS_FILE = Path(__file__).resolve().parents[1] / "pins.toml"
# The reference upstream's well-known test credentials (EGRESS_CONFORMANCE_API_KEY / _OAUTH_TOKEN replace them).
DEFAULT_API_KEY = "sk-ant-api03-conformance-reference-key-000000000000000000000000AA"
DEFAULT_OAUTH_TOKEN = "sk-ant-oat01-conformance-reference-token-0000000000000000000000AA"
PREFIX = "EGRESS_CONFORMANCE_"


@dataclass(frozen=True)
class Pins:
    """The releases this harness is tested with."""

    litellm: str
    claude_code: str
    litellm_test_releases: tuple[str, ...]
    local_matrix: tuple[str, ...]
    gateways: tuple[str, ...] = ()
    """The other gateways (nginx, HAProxy, Squid, mitmproxy, Portkey): in ``--target=all``, not in the default
    matrix."""
    tools: dict[str, str] = field(default_factory=dict)
    """Releases of the gateways installed into the cache (``mitmproxy``, ``portkey_gateway``), and ``undici``."""
    ts_sdk: str = ""
    """The ``@anthropic-ai/sdk`` release the client.ts-sdk.* checks run."""


def load_pins(path: Path = PINS_FILE) -> Pins:
    data = tomllib.loads(path.read_text())
    return Pins(data["litellm"], data["claude_code"], tuple(data["litellm_test_releases"]),
                tuple(data["local_matrix"]), tuple(data.get("gateways", ())), dict(data.get("tools", {})),
                data.get("ts_sdk", ""))


@dataclass(frozen=True)
class Settings:
    """What the environment decides about a run; built by ``from_env`` at the entry points and passed down."""

    cache_dir: Path
    expectations_dir: Path
    litellm_version: str
    claude_code_version: str
    api_key: str
    oauth_token: str
    litellm_master_key: str | None = None
    proxy_auth: tuple[tuple[str, str], ...] = ()
    """Headers that authenticate the client to a deployed gateway itself (never sent upstream by a good one)."""
    questions_file: Path = SPIKE_QUESTIONS
    """The spike (questions and options) findings.md answers."""
    ts_sdk_version: str = ""
    """The ``@anthropic-ai/sdk`` release the client.ts-sdk.* checks run."""
    claude_slots: int = 12
    live_api_key: str = ""
    """``ANTHROPIC_API_KEY``: the real API key for ``--upstream=live``."""
    live_oauth_token: str = ""
    """``CLAUDE_CODE_OAUTH_TOKEN``: the real OAuth token for ``--upstream=live``."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Pins, then ``EGRESS_CONFORMANCE_*`` variables, then ``overrides`` that are not None (command line)."""
        env = os.environ if environ is None else environ
        pins = load_pins()
        cache_base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        try:
            slots = int(env.get(PREFIX + "CLAUDE_SLOTS") or 12)
        except ValueError:
            raise InputError(f"{PREFIX}CLAUDE_SLOTS must be a number, not {env[PREFIX + 'CLAUDE_SLOTS']!r}") from None
        settings = cls(
            cache_dir=Path(env.get(PREFIX + "CACHE") or Path(cache_base) / "egress-conformance"),
            expectations_dir=Path(env.get(PREFIX + "EXPECTATIONS") or FIXTURES_DIR / "expectations"),
            litellm_version=env.get(PREFIX + "LITELLM_VERSION") or pins.litellm,
            claude_code_version=env.get(PREFIX + "CLAUDE_CODE_VERSION") or pins.claude_code,
            ts_sdk_version=env.get(PREFIX + "TS_SDK_VERSION") or pins.ts_sdk,
            api_key=env.get(PREFIX + "API_KEY") or DEFAULT_API_KEY,
            oauth_token=env.get(PREFIX + "OAUTH_TOKEN") or DEFAULT_OAUTH_TOKEN,
            litellm_master_key=env.get(PREFIX + "LITELLM_MASTER_KEY") or None,
            questions_file=Path(env.get(PREFIX + "QUESTIONS") or SPIKE_QUESTIONS),
            proxy_auth=auth_headers(env.get(PREFIX + "AUTH") or "", PREFIX + "AUTH"),
            claude_slots=max(1, slots),
            live_api_key=env.get("ANTHROPIC_API_KEY", ""),
            live_oauth_token=env.get("CLAUDE_CODE_OAUTH_TOKEN", ""),
        )
        return settings.replace(**overrides)

    def replace(self, **changes: Any) -> Settings:
        """A copy with the given fields changed; None values are ignored (an option not given)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_CHILD_VARIABLES = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR", "TMP", "TEMP",
    "PYTHONPATH", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
    "all_proxy", "no_proxy",
})
_CHILD_PREFIXES = ("LC_", "XDG_", "PIP_", "npm_config_", "NPM_CONFIG_")


def child_environment(extra: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
                      ) -> dict[str, str]:
    """The environment of a process the harness starts: the machine's basics (path, home, locale, CA bundles,
    proxies and package-index settings for installs) from the harness's own, and ``extra``. Nothing else passes:
    the user's real keys (``ANTHROPIC_API_KEY``, ``CLAUDE_CODE_OAUTH_TOKEN``) and this harness's settings never
    reach a gateway, the shim or the reference upstream; a child that needs a credential is given it in ``extra``."""
    env = os.environ if environ is None else environ
    kept = {k: v for k, v in env.items() if k in _CHILD_VARIABLES or k.startswith(_CHILD_PREFIXES)}
    return {**kept, **(extra or {})}


def auth_headers(text: str, where: str) -> tuple[tuple[str, str], ...]:
    """``HEADER: VALUE`` lines (an ``--auth-file``, ``EGRESS_CONFORMANCE_AUTH``) as header pairs; blank lines and
    ``#`` comments skipped; a line without a header name raises InputError naming ``where`` (never the value)."""
    headers = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            raise InputError(f"{where}, line {number}: expected 'HEADER: VALUE'")
        headers.append((name.strip(), value.strip()))
    return tuple(headers)
