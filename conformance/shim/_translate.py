"""The shim's two fixes as pure functions: OAuth header translation and restoring a re-wrapped Anthropic error."""

from __future__ import annotations

import ast
import json
from typing import Any

from .._wire import API_KEY_HEADER, AUTHORIZATION, BETA_HEADER, OAUTH_BETA, OAUTH_PREFIX, Headers, merge_betas


def translate_auth(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An OAuth token goes out as ``Authorization: Bearer sk-ant-oat…`` with the oauth beta merged in once.

    ``x-api-key: sk-ant-oat…`` is moved to ``Authorization``; a Bearer OAuth token without the beta gets it. A
    standard API key, or no credential, is left exactly as it was.
    """
    given = Headers(headers)
    bearer = [v[7:] for v in given.get_all(AUTHORIZATION) if v.startswith("Bearer ")]
    token = next((t for t in given.get_all(API_KEY_HEADER) + bearer if t.startswith(OAUTH_PREFIX)), None)
    if token is None:
        return headers
    out = given.without(API_KEY_HEADER, AUTHORIZATION, BETA_HEADER)
    beta = merge_betas(given.get_all(BETA_HEADER), OAUTH_BETA)
    return out + [(AUTHORIZATION, f"Bearer {token}"), (BETA_HEADER, beta)]


def _embedded_envelope(text: str) -> dict[str, Any] | None:
    """The first Anthropic error envelope written inside ``text`` (as LiteLLM embeds it in its own messages)."""
    decoder = json.JSONDecoder()
    start = text.find('{"type":"error"')
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text[start:])
        except ValueError:
            value = None
        if isinstance(value, dict) and value.get("type") == "error" and isinstance(value.get("error"), dict):
            return value
        start = text.find('{"type":"error"', start + 1)
    return None


def _unwrap_bytes_repr(message: str) -> str:
    """LiteLLM wraps errors of stream requests as the Python repr of the body bytes (``b'{"type":"error",…}'``)."""
    if message[:2] in ("b'", 'b"') and message[-1:] == message[1]:
        try:
            value = ast.literal_eval(message)
        except (ValueError, SyntaxError):
            return message
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
    return message


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
