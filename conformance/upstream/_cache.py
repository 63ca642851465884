"""Deterministic prompt-cache accounting from ``cache_control`` breakpoints (tools → system → messages).

Tokens are the upstream's estimate (``ceil(utf-8 bytes / 4)`` per block), so the same request always costs the same.
A breakpoint caches the prefix up to and including its block; a later request whose prefix hashes the same reads it.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from ._problems import ApiError

REQUEST_OVERHEAD_TOKENS = 7
MAX_BREAKPOINTS = 4
TTL_SECONDS = {"5m": 300, "1h": 3600}


def estimate_tokens(value: Any) -> int:
    """Token estimate of a text or a JSON value: a quarter of its UTF-8 bytes, at least 1."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
    return max(1, math.ceil(len(text.encode()) / 4))


@dataclass(frozen=True)
class Segment:
    """One cacheable block of the prompt prefix."""

    where: str
    tokens: int
    content: str
    ttl: str | None
    """``5m`` / ``1h`` when the block carries ``cache_control``, else None."""


def _strip_cache_control(block: Any) -> Any:
    if isinstance(block, dict):
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _ttl(block: Any) -> str | None:
    if isinstance(block, dict) and isinstance(block.get("cache_control"), dict):
        return str(block["cache_control"].get("ttl", "5m"))
    return None


def segments(body: dict[str, Any]) -> list[Segment]:
    """The request's prompt split into blocks in cache-prefix order."""
    out: list[Segment] = []
    for i, tool in enumerate(body.get("tools") or []):
        bare = _strip_cache_control(tool)
        out.append(Segment(f"tools.{i}", estimate_tokens(bare), json.dumps(bare, sort_keys=True), _ttl(tool)))
    system = body.get("system")
    if isinstance(system, str):
        out.append(Segment("system", estimate_tokens(system), system, None))
    elif isinstance(system, list):
        for i, block in enumerate(system):
            bare = _strip_cache_control(block)
            text = bare.get("text", "") if isinstance(bare, dict) else str(bare)
            out.append(Segment(f"system.{i}", estimate_tokens(text), json.dumps(bare, sort_keys=True), _ttl(block)))
    for m, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        role = message.get("role") if isinstance(message, dict) else None
        if isinstance(content, str):
            out.append(Segment(f"messages.{m}", estimate_tokens(content), f"{role}:{content}", None))
            continue
        for c, block in enumerate(content or []):
            bare = _strip_cache_control(block)
            text = bare.get("text") if isinstance(bare, dict) and bare.get("type") == "text" else None
            tokens = estimate_tokens(text if isinstance(text, str) else bare)
            out.append(
                Segment(f"messages.{m}.content.{c}", tokens, f"{role}:" + json.dumps(bare, sort_keys=True), _ttl(block))
            )
    return out


@dataclass
class CacheUsage:
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class PromptCache:
    """The cache shared by every request to one upstream."""

    def __init__(self, min_cacheable_tokens: int) -> None:
        self.min_cacheable_tokens = min_cacheable_tokens
        self._entries: dict[str, float] = {}
        self._lock = threading.Lock()

    def account(self, body: dict[str, Any]) -> CacheUsage:
        """Compute this request's usage and remember the prefixes it wrote."""
        segs = segments(body)
        breakpoints: list[tuple[int, str, str]] = []  # (prefix tokens, prefix hash, ttl)
        digest = hashlib.sha256()
        prefix = REQUEST_OVERHEAD_TOKENS
        for seg in segs:
            digest.update(seg.content.encode())
            digest.update(b"\x00")
            prefix += seg.tokens
            if seg.ttl is not None:
                breakpoints.append((prefix, digest.hexdigest(), seg.ttl))
        if len(breakpoints) > MAX_BREAKPOINTS:
            raise ApiError(
                400,
                f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(breakpoints)}.",
            )
        total = prefix
        now = time.monotonic()
        with self._lock:
            read = 0
            for tokens, key, _ in breakpoints:
                if self._entries.get(key, 0) > now:
                    read = max(read, tokens)
            created = {"5m": 0, "1h": 0}
            previous = read
            for tokens, key, ttl in breakpoints:
                if tokens < self.min_cacheable_tokens:
                    continue
                if tokens > previous:
                    created[ttl if ttl in created else "5m"] += tokens - previous
                    previous = tokens
                self._entries[key] = now + TTL_SECONDS.get(ttl, 300)
        creation = created["5m"] + created["1h"]
        return CacheUsage(
            input_tokens=total - read - creation,
            cache_creation_input_tokens=creation,
            cache_read_input_tokens=read,
            ephemeral_5m_input_tokens=created["5m"],
            ephemeral_1h_input_tokens=created["1h"],
        )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
