"""The shim's fixes as pure functions: OAuth header translation, restoring a re-wrapped Anthropic error, and the
request target and headers it may send on."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any
from urllib.parse import unquote

from ..core._wire import API_KEY_HEADER, AUTHORIZATION, BETA_HEADER, OAUTH_BETA, OAUTH_PREFIX, Headers, merge_betas


def translate_auth(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An OAuth token goes out as ``Authorization: Bearer sk-ant-oat…`` with the oauth beta merged in once.

    ``x-api-key: sk-ant-oat…`` is moved to ``Authorization``; a Bearer OAuth token without the beta gets it. A
    standard API key, or no credential, is left exactly as it was.
    """
    given = Headers(headers)
    # The scheme is case-insensitive (RFC 9110 §11.1): "bearer sk-ant-oat…" is the same credential.
    bearer = [v[7:].strip() for v in given.get_all(AUTHORIZATION) if v[:7].lower() == "bearer "]
    token = next((t for t in given.get_all(API_KEY_HEADER) + bearer if t.startswith(OAUTH_PREFIX)), None)
    if token is None:
        return headers
    out = given.without(API_KEY_HEADER, AUTHORIZATION, BETA_HEADER)
    beta = merge_betas(given.get_all(BETA_HEADER), OAUTH_BETA)
    return out + [(AUTHORIZATION, f"Bearer {token}"), (BETA_HEADER, beta)]


ENVELOPE_ATTEMPTS = 4
"""Places inside a wrapped message where an embedded envelope is looked for: each look reads the rest of the
message once, so the work stays a small multiple of its length whatever it holds."""
_BYTES_REPR = re.compile(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"", re.DOTALL)


def _embedded_envelope(text: str) -> dict[str, Any] | None:
    """The first Anthropic error envelope written inside ``text`` (as LiteLLM embeds it in its own messages)."""
    decoder = json.JSONDecoder()
    start = text.find('{"type":"error"')
    for _ in range(ENVELOPE_ATTEMPTS):
        if start == -1:
            return None
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict) and value.get("type") == "error" and isinstance(value.get("error"), dict):
            return value
        start = text.find('{"type":"error"', start + 1)
    return None


def _unwrap_bytes_repr(message: str) -> str:
    """LiteLLM wraps errors of stream requests as the Python repr of the body bytes (``b'{"type":"error",…}'``).

    Only one whole bytes literal is unwrapped, by its escapes alone (linear, no parser: ``b'',b'',…`` stays as
    it came)."""
    if message[:2] not in ("b'", 'b"') or not _BYTES_REPR.fullmatch(message):
        return message
    try:
        value, _ = codecs.escape_decode(message[2:-1].encode("latin-1", errors="strict"))
    except (ValueError, UnicodeEncodeError):
        return message
    return value.decode("utf-8", errors="replace")


def restore_error(status: int, body: bytes) -> tuple[int, bytes, str | None] | None:
    """``(status, original envelope bytes, request_id)`` when ``body`` is a re-wrapped Anthropic error, else None.

    Handles ``{"error":{"message":"<escaped envelope>","type":"None",…,"code":"429"}}`` (also with the envelope as a
    Python bytes repr, as for stream requests) and an Anthropic envelope whose message embeds the upstream's
    (``litellm.BadRequestError: AnthropicException - {…}``).
    """
    try:
        outer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    error = outer.get("error") if isinstance(outer, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return None
    message = _unwrap_bytes_repr(error["message"])
    inner: Any = None
    try:
        inner = json.loads(message)
    except ValueError:
        inner = _embedded_envelope(message)
    if not (isinstance(inner, dict) and inner.get("type") == "error" and isinstance(inner.get("error"), dict)):
        return None
    code = error.get("code")
    if isinstance(code, str) and code.isdigit() and 400 <= int(code) <= 599:
        status = int(code)
    restored = json.dumps(inner, separators=(",", ":"), ensure_ascii=False).encode()
    request_id = inner.get("request_id") if isinstance(inner.get("request_id"), str) else None
    return status, restored, request_id


def upstream_target(raw: str) -> str | None:
    """The request target to send on, exactly as received, or None when it could leave the upstream's prefix.

    A dot segment (``..``, ``.``, also percent-encoded), an encoded slash or backslash, a backslash or a NUL is
    refused: the upstream (or the URL library on the way) resolves them, and ``/v1/messages/%2e%2e/%2e%2e/admin``
    under ``--upstream http://litellm/anthropic`` would reach ``/admin``."""
    path = raw.split("?", 1)[0]
    lowered = path.lower()
    if not path.startswith("/") or "\\" in path or any(code in lowered for code in ("%2f", "%5c", "%00")):
        return None
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        return None
    return raw


def without_headers(headers: list[tuple[str, str]], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """``headers`` without those ``names`` list (case-insensitive; a name ending in ``*`` is a prefix)."""
    exact = {n.lower() for n in names if not n.endswith("*")}
    prefixes = tuple(n[:-1].lower() for n in names if n.endswith("*"))
    return [(k, v) for k, v in headers if k.lower() not in exact and not (prefixes and k.lower().startswith(prefixes))]
