"""Signed thinking blocks: a keyed MAC over the thinking text, so a path that changes a byte is caught on replay."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ._problems import ApiError

_TAG = b"\x12\x20"  # protobuf-like prefix; real signatures also start with "E…" in base64


def sign(key: bytes, thinking: str) -> str:
    """The ``signature`` of a thinking block: MAC of its text plus deterministic filler to a realistic length."""
    mac = hmac.new(key, b"thinking\x00" + thinking.encode(), hashlib.sha256).digest()
    filler = hashlib.sha512(mac).digest() * 4
    return base64.b64encode(_TAG + mac + filler).decode()


def redacted_data(key: bytes, seed: str) -> str:
    """The ``data`` of a redacted_thinking block: an opaque payload and its MAC."""
    payload = hashlib.sha512(seed.encode()).digest() * 3
    mac = hmac.new(key, b"redacted\x00" + payload, hashlib.sha256).digest()
    return base64.b64encode(_TAG + mac + payload).decode()


def _redacted_ok(key: bytes, encoded: Any) -> bool:
    """True when ``encoded`` is tag + MAC + payload and the MAC matches the payload."""
    if not isinstance(encoded, str):
        return False
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        return False
    if len(raw) < 34 or raw[:2] != _TAG:
        return False
    mac, payload = raw[2:34], raw[34:]
    return hmac.compare_digest(mac, hmac.new(key, b"redacted\x00" + payload, hashlib.sha256).digest())


def verify_history(key: bytes, messages: list[Any]) -> None:
    """Raise the API's 400 when a replayed thinking or redacted_thinking block was changed."""
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
                thinking = block.get("thinking")
                signature = block.get("signature")
                # The whole signature must be the one issued: any changed byte fails, as on the real API.
                valid = isinstance(thinking, str) and isinstance(signature, str)
                if not valid or not hmac.compare_digest(signature, sign(key, thinking)):
                    raise ApiError(400, f"messages.{m}.content.{c}: Invalid `signature` in `thinking` block")
            elif block.get("type") == "redacted_thinking":
                if not _redacted_ok(key, block.get("data")):
                    raise ApiError(400, f"messages.{m}.content.{c}: Invalid `data` in `redacted_thinking` block")
