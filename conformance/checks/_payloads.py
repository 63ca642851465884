"""Request bodies more than one check sends: the realistic payload (a Claude-Code-sized request from
``fixtures/requests/``, completed at run time), bodies of a given size up to the API's limit, the cached prefix and
the server-tools request."""

from __future__ import annotations

import base64
import copy
import functools
import json
import random
from typing import Any

from ..core._fixtures import FIXTURES_DIR
from ..upstream import make_directive
from ._context import CheckContext

SESSION = FIXTURES_DIR / "requests" / "claude-code-session.json"


def claude_code_session(ctx: CheckContext) -> dict[str, Any]:
    """The session request with a signed thinking block (fetched straight from the upstream) and a directive."""
    body: dict[str, Any] = json.loads(SESSION.read_text())
    body["model"] = ctx.run.model
    signed = _signed_thinking(ctx)
    if signed is not None:
        body["thinking"] = {"type": "enabled", "budget_tokens": 4096}
        body["messages"][3]["content"].insert(0, signed)
    cid = ctx.new_cid()
    body["messages"][-1]["content"].append({"type": "text", "text": f"Now fix it. {make_directive(cid=cid)}"})
    return body


def _signed_thinking(ctx: CheckContext) -> dict[str, Any] | None:
    """A thinking block signed by the upstream itself, so only the path can break its signature."""
    if ctx.run.direct is None:
        return None
    body = ctx.body("Think about the review.")
    body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    body["max_tokens"] = 2048
    exchange = ctx.send(body, direct=True, label="signed thinking block (direct)")
    data = exchange.json_or_none() or {}
    blocks = [b for b in data.get("content", []) if isinstance(b, dict) and b.get("type") == "thinking"]
    return blocks[0] if blocks else None


MIB = 1 << 20


def sized_body(ctx: CheckContext, size: int) -> tuple[dict[str, Any], bytes]:
    """A Messages request of about ``size`` bytes, as Claude Code sends late in a long session: a PDF attached as
    base64 (three quarters of it) after a history of source code (the rest). Returns the body and its bytes, compact
    as Claude Code's JSON.stringify writes them (built once: a 30 MB body is not serialised twice)."""
    body = ctx.body("Review the attached report against our conversation.")
    turns = _history(size // 4)
    body["messages"] = [*turns, {"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": _pdf_base64(size * 3 // 4)}},
        {"type": "text", "text": body["messages"][0]["content"]},
    ]}]
    return body, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()  # as JSON.stringify writes


@functools.cache
def _pdf_base64(length: int) -> str:
    """``length`` characters of base64 of deterministic bytes that start as a PDF does (kept for the run: every
    target sends the same document)."""
    raw = b"%PDF-1.7\n" + random.Random(length).randbytes(length * 3 // 4)
    return base64.b64encode(raw).decode()[:length // 4 * 4]


@functools.cache
def _history(length: int) -> tuple[dict[str, Any], ...]:
    """User and assistant turns of about ``length`` characters of source code in all, ending with the assistant."""
    code = "".join(f"def step_{i}(value: int) -> int:\n    return value * {i} + {i % 7}  # <step {i}>\n"
                   for i in range(2000))
    turns = max(2, length // (4 * len(code)) * 2)
    return tuple({"role": "user" if i % 2 == 0 else "assistant", "content": code * 2} for i in range(turns))


_PREFIX = "You are a careful reviewer of egress-path conformance reports. " * 120


def cached_body(ctx: CheckContext, nonce: str, *, stream: bool = False, ttl: str = "5m") -> dict[str, Any]:
    """A request with breakpoints on the tools, the system prompt (ttl) and the first user turn."""
    body = ctx.body("Summarise the prefix.", stream=stream)
    body["tools"] = [
        {
            "name": "lookup",
            "description": "Look a term up.",
            "input_schema": {"type": "object", "properties": {"term": {"type": "string"}}},
            "cache_control": {"type": "ephemeral"},
        }
    ]
    body["system"] = [
        {"type": "text", "text": f"[{nonce}] {_PREFIX}", "cache_control": {"type": "ephemeral", "ttl": ttl}}
    ]
    return body


WEB_TOOLS = [
    {"type": "web_search_20250305", "name": "web_search", "max_uses": 20},
    {"type": "web_fetch_20250910", "name": "web_fetch"},
]


def server_tool_body(ctx: CheckContext, *, stream: bool = False, **directive: Any) -> dict[str, Any]:
    body = ctx.body("What does https://example.com/docs say today?", stream=stream, **directive)
    body["tools"] = copy.deepcopy(WEB_TOOLS)
    body["max_tokens"] = 1024
    return body
