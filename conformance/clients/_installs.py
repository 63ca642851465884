"""The clients the checks run, made ready before any check starts: neither an npm install nor a heavy first import
(measured: up to 30 s with five LiteLLMs starting) may run inside a check's time bound."""

from __future__ import annotations

from collections.abc import Callable

from ..core._exceptions import PathError
from ..core._settings import Settings


def install_clients(check_ids: set[str], settings: Settings, say: Callable[[str], None]) -> None:
    """Import the Python SDK and install the pinned TypeScript SDK and Claude Code when ``check_ids`` use them; a
    client that cannot be installed is one warning line (its checks are then ``unsupported``)."""
    if any(c.startswith("client.sdk.") for c in check_ids):
        from . import _sdk  # noqa: F401  (imported for its side effect: the SDK loaded once, up front)
    if any(c.startswith("client.ts-sdk.") for c in check_ids):
        from ._ts_sdk import ensure_ts_sdk, installed_ts_sdk

        try:
            installed_ts_sdk(settings.ts_sdk_version, settings.cache_dir)
        except PathError:
            try:
                ensure_ts_sdk(settings.ts_sdk_version, settings.cache_dir, say=say)
            except PathError as exc:
                say(f"warning: {exc}; client.ts-sdk.* will be unsupported")
    if any(c.startswith("client.claude-code.") for c in check_ids):
        from ._claude_code import ensure_claude_code, installed_claude_code

        version = settings.claude_code_version
        try:
            installed_claude_code(version, settings.cache_dir)
        except PathError:
            try:
                say(f"installing Claude Code {version} (first use; the nox sessions do this beforehand)")
                ensure_claude_code(version, settings.cache_dir)
            except PathError as exc:
                say(f"warning: {exc}; client.claude-code.* will be unsupported")
