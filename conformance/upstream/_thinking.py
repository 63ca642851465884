"""Signed thinking blocks: a keyed MAC over the thinking text, so a path that changes a byte is caught on replay."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ._problems import ApiError

_TAG = b"\x12\x20"  # protobuf-like prefix; real signatures also start with "E…" in base64


def sign(key: bytes, thinking: str, hidden: str = "") -> str:
    """The ``signature`` of a thinking block: an opaque payload (from the ``hidden`` reasoning of a signature-only
    block, else the text) and a MAC over the shown text and that payload, at a realistic length."""
    payload = hashlib.sha512((hidden or thinking).encode()).digest() * 4
    return base64.b64encode(_TAG + _signature_mac(key, thinking, payload) + payload).decode()


def _signature_mac(key: bytes, thinking: str, payload: bytes) -> bytes:
    return hmac.new(key, b"thinking\x00" + thinking.encode() + b"\x00" + payload, hashlib.sha256).digest()


def _signature_ok(key: bytes, thinking: Any, signature: Any) -> bool:
    """True when ``signature`` was issued for exactly this shown ``thinking`` text (empty for signature-only)."""
    raw = _decode(signature)
    if raw is None or not isinstance(thinking, str):
        return False
    return hmac.compare_digest(raw[2:34], _signature_mac(key, thinking, raw[34:]))


def _decode(encoded: Any) -> bytes | None:
    """Tag + MAC + payload from base64, or None when ``encoded`` is not of that form."""
    if not isinstance(encoded, str):
        return None
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        return None
    return raw if len(raw) >= 34 and raw[:2] == _TAG else None


def redacted_data(key: bytes, seed: str) -> str:
    """The ``data`` of a redacted_thinking block: an opaque payload and its MAC."""
    payload = hashlib.sha512(seed.encode()).digest() * 3
    mac = hmac.new(key, b"redacted\x00" + payload, hashlib.sha256).digest()
    return base64.b64encode(_TAG + mac + payload).decode()


def _redacted_ok(key: bytes, encoded: Any) -> bool:
    """True when ``encoded`` is tag + MAC + payload and the MAC matches the payload."""
    raw = _decode(encoded)
    if raw is None:
        return False
    mac, payload = raw[2:34], raw[34:]
    return hmac.compare_digest(mac, hmac.new(key, b"redacted\x00" + payload, hashlib.sha256).digest())


def _sealed_fields(block: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(field, value)`` of the sealed values a server-tool block carries: search-result ``encrypted_content`` and
    citation ``encrypted_index`` (issued with ``redacted_data``)."""
    found: list[tuple[str, Any]] = []
    if block.get("type") == "web_search_tool_result" and isinstance(block.get("content"), list):
        found += [("encrypted_content", h.get("encrypted_content")) for h in block["content"] if isinstance(h, dict)]
    if isinstance(block.get("citations"), list):
        found += [("encrypted_index", c.get("encrypted_index")) for c in block["citations"]
                  if isinstance(c, dict) and "encrypted_index" in c]
    return found


def verify_history(key: bytes, messages: list[Any]) -> None:
    """Raise the API's 400 when a replayed thinking, redacted_thinking or sealed server-tool value was changed."""
    for m, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for c, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "thinking":
                # The signature must be one issued for this very text: any changed byte fails, as on the real API.
                if not _signature_ok(key, block.get("thinking"), block.get("signature")):
                    raise ApiError(400, f"messages.{m}.content.{c}: Invalid `signature` in `thinking` block")
            elif block.get("type") == "redacted_thinking":
                if not _redacted_ok(key, block.get("data")):
                    raise ApiError(400, f"messages.{m}.content.{c}: Invalid `data` in `redacted_thinking` block")
            for name, value in _sealed_fields(block):
                if not _redacted_ok(key, value):
                    raise ApiError(400, f"messages.{m}.content.{c}: Invalid `{name}` in `{block.get('type')}` block")
