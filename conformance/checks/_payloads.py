"""The realistic payload: a Claude-Code-sized request from ``fixtures/requests/``, completed at run time."""

from __future__ import annotations

import json
from typing import Any

from .._fixtures import FIXTURES_DIR
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
