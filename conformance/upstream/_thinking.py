"""Signed thinking blocks: a keyed MAC over the thinking text, so a path that changes a byte is caught on replay.

A block may also be bound to its conversation (Claude 5.1+, accounts created after 2026-08-31): its signature then
carries a digest of the prefix it was given in (system, tools, the messages before it), and replaying it after any
change to that prefix is refused, unless the request opts out with ``block_binding.prefix_mismatch_behavior:
"drop_block"`` and the ``thinking-binding-controls-2026-08-01`` beta."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from ._problems import ApiError

_TAG = b"\x12\x20"  # protobuf-like prefix; real signatures also start with "E…" in base64
_BOUND = b"bound\x00"
BINDING_BETA = "thinking-binding-controls-2026-08-01"
BOUND_ELSEWHERE = ("Invalid `signature` in `thinking` block. The block is bound to a different conversation: the "
                   "system prompt, tools or earlier messages changed since it was issued.")


def prefix_digest(body: dict[str, Any], before: int) -> bytes:
    """The digest of a conversation's prefix as a bound block sees it: system, tools and the first ``before``
    messages, in one canonical JSON form (whitespace and key order do not count, any value does)."""
    prefix = {"system": body.get("system"), "tools": body.get("tools"),
              "messages": (body.get("messages") or [])[:before]}
    return hashlib.sha256(json.dumps(prefix, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
                          ).digest()


def sign(key: bytes, thinking: str, hidden: str = "", bound_to: bytes | None = None) -> str:
    """The ``signature`` of a thinking block: an opaque payload (from the ``hidden`` reasoning of a signature-only
    block, else the text; with ``bound_to``, led by that prefix digest) and a MAC over the shown text and that
    payload, at a realistic length."""
    payload = hashlib.sha512((hidden or thinking).encode()).digest() * 4
    if bound_to is not None:
        payload = _BOUND + bound_to + payload
    return base64.b64encode(_TAG + _signature_mac(key, thinking, payload) + payload).decode()


def _bound_to(signature: Any) -> bytes | None:
    """The prefix digest a (valid) signature is bound to, or None for an unbound one."""
    raw = _decode(signature)
    payload = raw[34:] if raw is not None else b""
    return payload[len(_BOUND):len(_BOUND) + 32] if payload.startswith(_BOUND) else None


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


def verify_history(key: bytes, body: dict[str, Any], betas: frozenset[str] = frozenset()) -> None:
    """Raise the API's 400 when a replayed thinking, redacted_thinking or sealed server-tool value was changed, or
    a bound thinking block comes back after its conversation's prefix changed (unless the request opts out)."""
    messages = body.get("messages") or []
    binding = body.get("block_binding") if isinstance(body.get("block_binding"), dict) else {}
    drop = BINDING_BETA in betas and binding.get("prefix_mismatch_behavior") == "drop_block"
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
                bound = _bound_to(block.get("signature"))
                if bound is not None and bound != prefix_digest(body, m) and not drop:
                    raise ApiError(400, f"messages.{m}.content.{c}: {BOUND_ELSEWHERE}")
            elif block.get("type") == "redacted_thinking":
                if not _redacted_ok(key, block.get("data")):
                    raise ApiError(400, f"messages.{m}.content.{c}: Invalid `data` in `redacted_thinking` block")
            for name, value in _sealed_fields(block):
                if not _redacted_ok(key, value):
                    raise ApiError(400, f"messages.{m}.content.{c}: Invalid `{name}` in `{block.get('type')}` block")
