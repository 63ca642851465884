"""The official TypeScript SDK (``@anthropic-ai/sdk``) as a client: installed from npm into the cache with the
``undici`` release its proxy and connect-override dispatchers come from, and driven by ``ts_sdk_driver.mjs``.

Each run is one node process making a list of calls in order with one SDK client; its answers come back as one
JSON object per call (the parsed message, or the SDK's error class, status and request id).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from ..core._exceptions import PathError
from ..core._install import is_installed, npm_install
from ..core._settings import load_pins
from ..core._wire import API_KEY_HEADER, AUTHORIZATION
from ..paths import Connection
from ._claude_code import run_json_lines

DRIVER = Path(__file__).with_name("ts_sdk_driver.mjs")
RETRY_DELAY_MS = 50
# Node processes at a time across the run: forty starting at once (five checks on each of nine targets) starved
# the gateways under test of CPU, and a LiteLLM took more than 30 s to answer.
RUN_SLOTS = threading.BoundedSemaphore(6)


def _folder(version: str, cache_dir: Path) -> Path:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise PathError(f"TypeScript SDK version {version!r} is not a version number")
    return cache_dir / f"ts-sdk-{version}-undici-{load_pins().tools['undici']}"


def installed_ts_sdk(version: str, cache_dir: Path) -> Path:
    """The ``node_modules`` folder holding SDK ``version``; PathError naming the install command when missing.
    Checks call this, never the installer (no npm install inside a check's time bound)."""
    folder = _folder(version, cache_dir)
    if shutil.which("node") is None:
        raise PathError("node not installed (apt-get install nodejs npm)")
    if not is_installed(folder):
        raise PathError(f"@anthropic-ai/sdk {version} is not installed "
                        f"(python -m conformance ts-sdk-install {version})")
    return folder / "node_modules"


def ensure_ts_sdk(version: str, cache_dir: Path, say: Callable[[str], None] | None = None) -> Path:
    """The ``node_modules`` folder holding SDK ``version``, installed with npm on first use."""
    packages = [f"@anthropic-ai/sdk@{version}", f"undici@{load_pins().tools['undici']}"]
    return npm_install(_folder(version, cache_dir), packages, f"@anthropic-ai/sdk {version}", say) / "node_modules"


def sdk_options(headers: list[tuple[str, str]]) -> tuple[str | None, dict[str, str]]:
    """The credential and default headers a user gives the SDK for a path that expects ``headers``: the key or
    token (``x-api-key`` or ``Authorization: Bearer``) is the credential, everything else a default header."""
    credential = None
    default_headers: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if credential is None and lowered == API_KEY_HEADER:
            credential = value
        elif credential is None and lowered == AUTHORIZATION and value.startswith("Bearer "):
            credential = value[len("Bearer "):]
        elif lowered == "anthropic-beta" and "oauth-2025-04-20" in value:
            continue  # the SDK's runtime adds it for an OAuth token, as the agents' runtime does
        else:
            default_headers[lowered] = value
    if credential is None and default_headers:  # a gateway-only key header: the user's key is the gateway's
        credential = next(iter(default_headers.values()))
    return credential, default_headers


def run_ts_sdk(modules: Path, connection: Connection, headers: list[tuple[str, str]], calls: list[dict[str, Any]],
               *, ca_pem: str | None = None, prefix: list[str] | None = None, timeout: float = 40.0,
               max_retries: int = 2, should_stop: Callable[[], bool] | None = None,
               queued: Callable[[], AbstractContextManager[None]] = nullcontext) -> list[dict[str, Any]]:
    """Make ``calls`` (``{"op": "create"|"stream", "params": {...}}``) with one SDK client on ``connection``; one
    answer per call, or ``{"ok": False, "error": {"class": "NotRun", …}}`` for calls the run did not reach."""
    credential, default_headers = sdk_options(headers)
    spec = {"modules": str(modules), "base_url": connection.base_url, "proxy": connection.proxy,
            "connect_to": list(connection.connect_to) if connection.connect_to else None,
            "credential": credential, "default_headers": default_headers, "max_retries": max_retries,
            "timeout_ms": int(timeout * 1000), "retry_delay_ms": RETRY_DELAY_MS, "calls": calls}
    home = tempfile.mkdtemp(prefix="egress-ts-sdk-")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "EGRESS_TS_SDK_SPEC": json.dumps(spec),
           "NO_PROXY": "127.0.0.1,localhost"}
    if ca_pem or os.environ.get("NODE_EXTRA_CA_CERTS"):
        env["NODE_EXTRA_CA_CERTS"] = ca_pem or os.environ["NODE_EXTRA_CA_CERTS"]
    try:
        with queued():
            while not RUN_SLOTS.acquire(timeout=0.2):
                if should_stop is not None and should_stop():
                    return [{"ok": False, "error": {"class": "NotRun", "message": "cancelled"}} for _ in calls]
        try:
            run = run_json_lines([*(prefix or []), shutil.which("node") or "node", str(DRIVER)], env, home,
                                 timeout, should_stop)
        finally:
            RUN_SLOTS.release()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    answers = [line for _, line in run.lines]
    why = "timed out" if run.timed_out else f"node exited {run.returncode}: {run.stderr.strip()[-200:]}"
    return answers + [{"ok": False, "error": {"class": "NotRun", "message": why}}
                      for _ in calls[len(answers):]]


__all__ = ["ensure_ts_sdk", "installed_ts_sdk", "run_ts_sdk", "sdk_options"]
