"""A release of the Python SDK (``anthropic`` on PyPI) other than the harness's own, run in a process of its own: the
drift watch compares what the newest release sends with what the installed one sends."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core._exceptions import PathError
from ..core._install import cached_install, run_install_step
from ..core._settings import child_environment

Runner = Callable[[list[str], dict[str, str], float], "subprocess.CompletedProcess[str]"]

# The calls a release makes, one JSON line per call with what must agree between two runs of it (ids are volatile):
# a message, a stream, a token count and the model list.
DRIVER = r"""
import json, sys
import anthropic
spec = json.loads(sys.argv[1])
client = anthropic.Anthropic(api_key=spec["api_key"], base_url=spec["base_url"], max_retries=0, timeout=30)
body = {"model": spec["model"], "max_tokens": 32, "messages": [{"role": "user", "content": spec["prompt"]}]}
def message(m): return {"text": "".join(getattr(b, "text", "") for b in m.content), "stop_reason": m.stop_reason}
def stream():
    with client.messages.stream(**body) as events:
        return message(events.get_final_message())
calls = (("create", lambda: message(client.messages.create(**body))),
         ("stream", stream),
         ("count_tokens", lambda: {"input_tokens": client.messages.count_tokens(
             model=body["model"], messages=body["messages"]).input_tokens}),
         ("models", lambda: {"models": len(list(client.models.list()))}))
for name, call in calls:
    try:
        print(json.dumps({"call": name, "ok": True, "summary": call()}), flush=True)
    except Exception as exc:
        print(json.dumps({"call": name, "ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}), flush=True)
print(json.dumps({"version": anthropic.__version__}), flush=True)
"""


def python_sdk_folder(version: str, cache_dir: Path) -> Path:
    """The cache folder that holds release ``version`` of the Python SDK (installed or not)."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise PathError(f"Python SDK version {version!r} is not a version number")
    return cache_dir / f"python-sdk-{version}"


def ensure_python_sdk(version: str, cache_dir: Path) -> Path:
    """The folder holding ``anthropic==version`` and its dependencies (``pip install --target``), installed once."""

    def install(folder: Path) -> None:
        run_install_step([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          "--target", str(folder), f"anthropic=={version}"], f"anthropic {version}")

    return cached_install(python_sdk_folder(version, cache_dir), f"anthropic {version}", install)


def run_python_sdk(folder: Path | None, base_url: str, api_key: str, model: str, prompt: str,
                   timeout: float = 60.0, *, extra_env: dict[str, str] | None = None,
                   runner: Runner | None = None) -> list[dict[str, Any]]:
    """The driver's lines for the SDK in ``folder`` (None: the harness's own installed release); ``runner`` runs it
    elsewhere (an agent sandbox's ``run_inside``), ``extra_env`` beside the machine's basics."""
    env = child_environment(extra_env)
    if folder is not None:
        env["PYTHONPATH"] = str(folder)
    argv = [sys.executable, "-c", DRIVER, driver_spec(base_url, api_key, model, prompt)]
    try:
        completed = (runner or _run_here)(argv, env, timeout)
    except subprocess.TimeoutExpired:
        raise PathError(f"the Python SDK driver did not finish within {timeout:.0f} s") from None
    return driver_lines(completed)


def _run_here(argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


def driver_spec(base_url: str, api_key: str, model: str, prompt: str) -> str:
    """The driver's one argument."""
    return json.dumps({"base_url": base_url, "api_key": api_key, "model": model, "prompt": prompt})


def driver_lines(completed: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """What the driver printed, a dict per line; PathError with its stderr when it printed nothing."""
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = " | ".join(completed.stderr.strip().splitlines()[-2:])
        raise PathError(f"the Python SDK driver failed: {tail[:300]}")
    return lines
