"""Credential redaction for every report, log and assertion message, keeping each credential's class visible.

Whether an OAuth token survived a path is what the harness tests, so ``sk-ant-oat01-…`` stays readable while
the secret part is cut. Extra secrets (a LiteLLM master key, a configured token) are registered at run time, and
with them the forms they take in transit (base64 at any alignment, JSON-escaped). A key written with escaped dashes
(``sk\\u002dant…``, ``sk%2Dant…``), a key split across consecutive pieces of text (stream chunks), and the values of
``Cookie``/``Set-Cookie`` are redacted too.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import Any

from ._wire import SECRET_HEADERS

# A dash as it may be written inside JSON or a URL.
_D = r"(?:-|\\u002[dD]|%2[dD])"
# sk-ant-<class>NN-<secret>: keep "sk-ant-oat01-" / "sk-ant-api03-", drop the rest.
_ANTHROPIC = re.compile(rf"(sk{_D}ant{_D}[a-z]+\d*{_D})(?:[A-Za-z0-9_]|{_D})+")
# Any other "sk-" key (LiteLLM master and virtual keys): keep "sk-", drop the rest.
_GENERIC_SK = re.compile(rf"\b(sk{_D})(?!ant{_D})(?:[A-Za-z0-9_]|{_D}){{6,}}")
_BEARER = re.compile(r"(?i)(bearer\s+)(?!sk-)([A-Za-z0-9._~+/=\-]{8,})")
# Cookie: a=b; c=d / Set-Cookie: a=b; Path=/ — keep each cookie's name, drop its value.
_COOKIE = re.compile(r"(?i)((?:set-)?cookie\s*[:=]\s*\"?)([^\r\n\"]+)")
_COOKIE_VALUE = re.compile(r"(^|;\s*)([^=;\s]+)=([^;]*)")
_COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})

_lock = threading.Lock()
_registered: set[str] = set()


def _forms(value: str) -> set[str]:
    """``value`` and the forms it takes in transit: JSON-escaped, and base64 (standard and URL-safe) at each of the
    three alignments it can sit at inside a longer encoded text (the stable middle of each encoding)."""
    forms = {value, json.dumps(value)[1:-1]}
    raw = value.encode()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start, end = -(-offset // 3) * 4, (offset + len(raw)) // 3 * 4
        core = encoded[start:end]
        if len(core) >= 12:
            forms |= {core, core.replace("+", "-").replace("/", "_")}
    return forms


def register_secret(value: str) -> None:
    """Make ``value`` redacted wherever it appears from now on (for credentials without a known prefix), in the
    forms it takes in transit too."""
    if value and len(value) >= 6:
        with _lock:
            _registered.update(_forms(value))


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
    return _COOKIE.sub(lambda m: m.group(1) + _cookie_names(m.group(2)), text)


def _cookie_names(value: str) -> str:
    return _COOKIE_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}=…", value)


def _class_of(secret: str) -> str:
    match = re.match(r"sk-ant-[a-z]+\d*-|sk-", secret)
    return match.group(0) if match else "[secret]"


def redact_pieces(pieces: list[str]) -> list[str]:
    """Redact consecutive pieces of one text (stream chunks, a log written in parts): a key split across pieces is
    cut too, ``…`` where its secret part starts; every piece stays a piece (the list keeps its length)."""
    joined = "".join(pieces)
    spans = _secret_spans(joined)
    out, pos = [], 0
    for piece in pieces:
        start, end = pos, pos + len(piece)
        kept, at = [], start
        for a, b in spans:
            if b <= start or a >= end:
                continue
            kept.append(joined[at:max(a, start)])
            if a >= start:
                kept.append("…")
            at = min(b, end)
        kept.append(joined[at:end])
        out.append(redact("".join(kept)))
        pos = end
    return out


def _secret_spans(text: str) -> list[tuple[int, int]]:
    """Where the secret parts of ``text`` lie (a credential's class prefix is not secret), in order."""
    with _lock:
        registered = list(_registered)
    spans = [(m.start(), m.start() + len(s)) for s in registered for m in re.finditer(re.escape(s), text)]
    for pattern in (_ANTHROPIC, _GENERIC_SK, _BEARER):
        spans += [(m.end(1), m.end()) for m in pattern.finditer(text)]
    return sorted(spans)


def redact_any(value: Any) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, strings); a ``[name, value]`` header pair of a
    credential or cookie header has its value shortened whatever it looks like, and a list of texts is redacted
    as the consecutive pieces of one text."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", errors="replace"))
    if isinstance(value, dict):
        return {k: redact_any(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, str) for v in value) and _secret_header(value[0]):
            return list(redact_headers([(value[0], value[1])])[0])
        if len(value) > 1 and all(isinstance(v, str) for v in value):
            return redact_pieces(list(value))
        return [redact_any(v) for v in value]
    return value


def _secret_header(name: str) -> bool:
    return name.lower() in SECRET_HEADERS or name.lower() in _COOKIE_HEADERS


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Redact header values; values of credential headers are always shortened, even unknown ones, and cookies keep
    only their names."""
    out = []
    for name, value in headers:
        red = redact(value)
        if name.lower() in _COOKIE_HEADERS:
            red = _cookie_names(value)
        elif name.lower() in SECRET_HEADERS and red == value and value:
            red = _class_of(value) + "…" if not value.lower().startswith("bearer ") else "Bearer …"
        out.append((name, red))
    return out
