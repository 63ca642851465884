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
    from .._sse import decode_events

    blocks = {i: dict(b) for i, b in enumerate(_streamed_blocks(data))}
    for event in decode_events(data):
        if event.name != "content_block_delta":
            continue
        payload = event.json()
        delta, index = payload["delta"], payload["index"]
        if delta.get("type") == "thinking_delta":
            blocks[index]["thinking"] = blocks[index].get("thinking", "") + delta["thinking"]
        elif delta.get("type") == "signature_delta":
            blocks[index]["signature"] = blocks[index].get("signature", "") + delta["signature"]
    return [b for b in blocks.values() if b.get("type") == "thinking"]


@check(
    id="thinking.replay-accepted",
    title="Replayed through the path, are thinking and redacted_thinking blocks accepted by the upstream?",
    requirement=THINKING_UNCHANGED,
    source=API_THINKING,
    failure_example="replaying thinking: 400 messages.1.content.0: Invalid `signature` in `thinking` block",
)
def replay_accepted(ctx: CheckContext) -> None:
    for label, directive in (("thinking", {}), ("redacted_thinking", {"thinking": "redacted"})):
        first = ctx.reached(ctx.send(thinking_body(ctx, **directive), label=f"{label} turn"))
        content = _blocks(first)
        if not ctx.expect(
            any(b.get("type") == label for b in content),
            f"the first turn returned no {label} block",
            actual=first.body[:300],
        ):
            continue
        body = thinking_body(ctx)
        body["messages"] += [{"role": "assistant", "content": content}, {"role": "user", "content": "Continue."}]
        exchange = ctx.reached(ctx.send(body, label=f"replay {label}"))
        entry = ctx.upstream_entry(exchange)
        upstream_status = entry.status if entry else None
        ctx.expect(
            exchange.status == 200 and upstream_status == 200,
            f"replaying {label}: {exchange.status} {exchange.body[:200].decode(errors='replace')}",
            expected=200,
            actual=upstream_status,
        )
