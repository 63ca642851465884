"""Credential redaction for every report, log and assertion message, keeping each credential's class visible.

Whether an OAuth token survived a path is what the harness tests, so ``sk-ant-oat01-…`` stays readable while
the secret part is cut. Extra secrets (a LiteLLM master key, a configured token) are registered at run time.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from ._wire import SECRET_HEADERS

# sk-ant-<class>NN-<secret>: keep "sk-ant-oat01-" / "sk-ant-api03-", drop the rest.
_ANTHROPIC = re.compile(r"(sk-ant-[a-z]+\d*-)[A-Za-z0-9_\-]+")
# Any other "sk-" key (LiteLLM master and virtual keys): keep "sk-", drop the rest.
_GENERIC_SK = re.compile(r"\b(sk-)(?!ant-)[A-Za-z0-9_\-]{6,}")
_BEARER = re.compile(r"(?i)(bearer\s+)(?!sk-)([A-Za-z0-9._~+/=\-]{8,})")

_lock = threading.Lock()
_registered: set[str] = set()



def register_secret(value: str) -> None:
    """Make ``value`` redacted wherever it appears from now on (for credentials without a known prefix)."""
    if value and len(value) >= 6:
        with _lock:
            _registered.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known credential shortened to its class and ``…``."""
    with _lock:
        registered = sorted(_registered, key=len, reverse=True)
    for secret in registered:
        if secret in text:
            text = text.replace(secret, _class_of(secret) + "…")
    text = _ANTHROPIC.sub(r"\1…", text)
    text = _GENERIC_SK.sub(r"\1…", text)
    text = _BEARER.sub(r"\1…", text)
    return text


def _class_of(secret: str) -> str:
    match = re.match(r"sk-ant-[a-z]+\d*-|sk-", secret)
    return match.group(0) if match else "[secret]"


def redact_any(value: Any) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, strings)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", errors="replace"))
    if isinstance(value, dict):
        return {k: redact_any(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_any(v) for v in value]
    return value


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Redact header values; values of credential headers are always shortened, even unknown ones."""
    out = []
    for name, value in headers:
        red = redact(value)
        if name.lower() in SECRET_HEADERS and red == value and value:
            red = _class_of(value) + "…" if not value.lower().startswith("bearer ") else "Bearer …"
        out.append((name, red))
    return out
