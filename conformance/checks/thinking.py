"""thinking.* — do thinking signatures survive the path both ways, so the upstream accepts them on replay?"""

from __future__ import annotations

import json
from typing import Any

from .._client import Exchange
from ._context import CheckContext
from ._registry import check
from ._requirements import API_THINKING, THINKING_UNCHANGED
from .tools import _streamed_blocks


def thinking_body(ctx: CheckContext, *, stream: bool = False, **directive: Any) -> dict[str, Any]:
    body = ctx.body("Think, then answer.", stream=stream, **directive)
    body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    body["max_tokens"] = 2048
    return body


def _blocks(exchange: Exchange) -> list[dict[str, Any]]:
    data = exchange.json_or_none()
    return data.get("content", []) if isinstance(data, dict) else []


def _compare(ctx: CheckContext, label: str, **directive: Any) -> None:
    exchange = ctx.reached(ctx.send(thinking_body(ctx, **directive), label=label))
    entry = ctx.received(exchange)
    ours = [b for b in _blocks(exchange) if b.get("type") in ("thinking", "redacted_thinking")]
    theirs = [
        b
        for b in json.loads(entry.response_body or b"{}").get("content", [])
        if b.get("type") in ("thinking", "redacted_thinking")
    ]
    ctx.expect(
        bool(theirs) and ours == theirs, f"{label}: blocks differ from the upstream's", expected=theirs, actual=ours
    )


@check(
    id="thinking.blocks-identical",
    title="Do thinking (with signature) and redacted_thinking blocks come back exactly as the upstream sent them?",
    requirement=THINKING_UNCHANGED,
    source=API_THINKING,
    failure_example="thinking: blocks differ from the upstream's (signature re-encoded)",
)
def blocks_identical(ctx: CheckContext) -> None:
    _compare(ctx, "thinking")
    _compare(ctx, "redacted_thinking", thinking="redacted")


@check(
    id="thinking.streamed-signature-identical",
    title="Streamed, do thinking_delta and signature_delta rebuild the upstream's block exactly?",
    requirement=THINKING_UNCHANGED + " A signature_delta is sent just before content_block_stop.",
    source=API_THINKING,
    features=("messages", "streaming"),
    failure_example="streamed thinking block differs: signature ''",
)
def streamed_signature(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(thinking_body(ctx, stream=True)))
    entry = ctx.received(exchange)
    ours = _rebuilt(exchange.body)
    theirs = _rebuilt(entry.response_body)
    ctx.expect(bool(theirs) and ours == theirs, "streamed thinking block differs", expected=theirs, actual=ours)


def _rebuilt(data: bytes) -> list[dict[str, Any]]:
    return [b for b in _streamed_blocks(data) if b.get("type") == "thinking"]
