"""thinking.* — do thinking signatures survive the path both ways, so the upstream accepts them on replay?"""

from __future__ import annotations

import json
from typing import Any

from ..core._http import Exchange
from ._context import CheckContext, json_or_none
from ._registry import check
from ._requirements import API_THINKING, THINKING_UNCHANGED
from ._shared import streamed_blocks
from ._verify import holds, same


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
    holds(ctx, bool(theirs) and ours == theirs, f"{label}: blocks differ from the upstream's", theirs, ours)


@check(id="thinking.blocks-identical", faults={"reencode-signature": "fail"},
       title="Do thinking (with signature) and redacted_thinking blocks come back exactly as the upstream sent them?",
       requirement=THINKING_UNCHANGED, source=API_THINKING,
       failure_example="thinking: blocks differ from the upstream's (signature re-encoded)")
def blocks_identical(ctx: CheckContext) -> None:
    _compare(ctx, "thinking")
    _compare(ctx, "redacted_thinking", thinking="redacted")


@check(id="thinking.streamed-signature-identical", faults={"drop-signature-delta": "fail"},
       title="Streamed, do thinking_delta and signature_delta rebuild the upstream's block exactly?",
       requirement=THINKING_UNCHANGED + " A signature_delta is sent just before content_block_stop.",
       source=API_THINKING, features=("messages", "streaming"),
       failure_example="streamed thinking block differs: signature ''")
def streamed_signature(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(thinking_body(ctx, stream=True)))
    entry = ctx.received(exchange)
    ours = _rebuilt(exchange.body)
    theirs = _rebuilt(entry.response_body)
    holds(ctx, bool(theirs) and ours == theirs, "streamed thinking block differs", theirs, ours)


def _rebuilt(data: bytes) -> list[dict[str, Any]]:
    return [b for b in streamed_blocks(data) if b.get("type") == "thinking"]


@check(id="thinking.replay-accepted", faults={"reencode-signature": "fail"},
       title="Replayed through the path, are thinking and redacted_thinking blocks accepted by the upstream?",
       requirement=THINKING_UNCHANGED, source=API_THINKING,
       failure_example="replaying thinking: 400 messages.1.content.0: Invalid `signature` in `thinking` block")
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
        holds(ctx, exchange.status == 200 and upstream_status == 200,
              f"replaying {label}: {exchange.status} {exchange.body[:200].decode(errors='replace')}", 200,
              upstream_status)


INTERLEAVED_BETA = "interleaved-thinking-2025-05-14"
WEATHER_TOOL = {"name": "get_weather", "description": "The weather at a place.",
                "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}


def _thinking_of(data: bytes, stream: bool) -> list[dict[str, Any]]:
    blocks = streamed_blocks(data) if stream else _blocks_of(data)
    return [b for b in blocks if b.get("type") in ("thinking", "redacted_thinking")]


def _blocks_of(data: bytes) -> list[dict[str, Any]]:
    parsed = json_or_none(data)
    return parsed.get("content", []) if isinstance(parsed, dict) else []


@check(id="thinking.signature-only-kept", faults={"drop-empty-thinking": "fail"},
       title="Does a signature-only thinking block (empty text, display omitted) come back, and go upstream "
             "again, unchanged?",
       requirement=THINKING_UNCHANGED + " With display omitted the block's thinking is empty and only its signature "
                   "carries the reasoning; it is passed back like any other.",
       source=API_THINKING,
       failure_example="replayed history: the signature-only thinking block reached the upstream changed or dropped")
def signature_only_kept(ctx: CheckContext) -> None:
    content: list[dict[str, Any]] = []
    for stream in (False, True):
        label = "stream" if stream else "json"
        body = thinking_body(ctx, stream=stream, thinking="omitted")
        body["thinking"]["display"] = "omitted"
        exchange = ctx.reached(ctx.send(body, label=label))
        entry = ctx.received(exchange)
        theirs, ours = _thinking_of(entry.response_body or b"", stream), _thinking_of(exchange.body, stream)
        holds(ctx, bool(theirs) and theirs[0].get("thinking") == "" and ours == theirs,
              f"{label}: signature-only thinking differs from the upstream's", theirs, ours)
        if not stream:
            content = _blocks_of(exchange.body)
    if not content:
        return
    body = thinking_body(ctx)
    body["thinking"]["display"] = "omitted"
    body["messages"] += [{"role": "assistant", "content": content}, {"role": "user", "content": "Continue."}]
    exchange = ctx.reached(ctx.send(body, label="replay"))
    entry = ctx.received(exchange)
    sent = json_or_none(entry.body) or {}
    history = (sent.get("messages") or [{}, {}])[1].get("content") if len(sent.get("messages") or []) > 1 else None
    same(ctx, history, content, "replayed history: the signature-only thinking block reached the upstream changed "
         "or dropped")
    holds(ctx, exchange.status == 200 and entry.status == 200, f"replay: {exchange.status}", 200,
          (exchange.status, entry.status))


@check(id="thinking.interleaved-kept", faults={"strip-beta": "fail"},
       title="With interleaved thinking, does the thinking after a tool result reach the client, and the signed "
             "history the upstream?",
       requirement=THINKING_UNCHANGED + " With the interleaved-thinking beta the model thinks again after each tool "
                   "result; the beta must reach the API.",
       source=API_THINKING,
       failure_example="the upstream did not think after the tool result: the interleaved-thinking beta "
                       "did not reach it")
def interleaved_kept(ctx: CheckContext) -> None:
    beta = [("anthropic-beta", INTERLEAVED_BETA)]
    body = thinking_body(ctx, tool="get_weather")
    body["tools"] = [dict(WEATHER_TOOL)]
    first = ctx.reached(ctx.send(body, headers=beta, label="tool turn"))
    content = _blocks_of(first.body)
    tool_use = next((b for b in content if b.get("type") == "tool_use"), None)
    if not ctx.expect(tool_use is not None, "the first turn returned no tool_use block", actual=first.body[:300]):
        return
    body["messages"] += [
        {"role": "assistant", "content": content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "Sunny."}]},
    ]
    second = ctx.reached(ctx.send(body, headers=beta, label="after the tool result"))
    entry = ctx.received(second)
    betas = entry.headers.betas()
    holds(ctx, INTERLEAVED_BETA in betas, "the interleaved-thinking beta did not reach the upstream",
          INTERLEAVED_BETA, betas)
    theirs, ours = _thinking_of(entry.response_body or b"", False), _thinking_of(second.body, False)
    ctx.expect(bool(theirs), "the upstream did not think after the tool result", actual=entry.status)
    same(ctx, ours, theirs, "thinking after the tool result differs from the upstream's")
    holds(ctx, second.status == 200 and entry.status == 200,
          f"the signed history was refused: {second.body[:200].decode(errors='replace')}", 200,
          (second.status, entry.status))


TURNS = 3


def _prefix_changes(sent: dict[str, Any], received: Any, before: int) -> list[str]:
    """What of the prefix before message ``before`` the upstream received otherwise than sent."""
    if not isinstance(received, dict):
        return ["the whole body"]
    changed = [part for part in ("system", "tools") if sent.get(part) != received.get(part)]
    theirs = received.get("messages") or []
    changed += [f"messages.{i}" for i in range(before) if i >= len(theirs) or theirs[i] != sent["messages"][i]]
    return changed


@check(id="thinking.prefix-kept-across-turns", faults={"inject-system-later": "fail"},
       title="Over several turns of a thinking conversation, does the path leave the prefix (system prompt, tools, "
             "earlier messages) exactly as the client sent it, so thinking blocks bound to their "
             "conversation are accepted?",
       requirement=THINKING_UNCHANGED + " Since Claude 5.1 (accounts created after 2026-08-31) a thinking block is "
                   "bound to its conversation: any change to the system prompt, tools or earlier messages makes the "
                   "next turn fail 400.",
       source=API_THINKING,
       evidence="per turn: the status, the upstream's answer, and which parts of the prefix arrived changed",
       failure_example="turn 2: 400 messages.1.content.0: Invalid `signature` in `thinking` block. The block is bound "
                       "to a different conversation… (the upstream received system changed)")
def prefix_kept_across_turns(ctx: CheckContext) -> None:
    body = thinking_body(ctx, bound=1)
    body["system"] = [{"type": "text", "text": "You are a careful pair programmer."}]
    body["tools"] = [WEATHER_TOOL]
    for turn in range(1, TURNS + 1):
        exchange = ctx.reached(ctx.send(body, label=f"turn {turn}"))
        entry = ctx.upstream_entry(exchange)
        # Judged by the upstream's answer: a path that changes the prefix the same way on every turn (a fixed
        # system block) breaks no binding; what changed is the evidence of why a turn was refused.
        changes = _prefix_changes(body, json_or_none(entry.body), len(body["messages"]) - 1) if entry else []
        ctx.note(f"turn_{turn}_prefix_changed", changes)
        if not same(ctx, exchange.status, 200,
                    f"turn {turn}: {exchange.status} {exchange.body[:160].decode(errors='replace')}"
                    + (f" (the upstream received {', '.join(changes)} changed)" if changes else "")):
            return
        content = _blocks(exchange)
        if not ctx.expect(any(b.get("type") == "thinking" for b in content), f"turn {turn} returned no thinking",
                          actual=exchange.body[:300]):
            return
        follow = ctx.body("And the next step?", bound=1)["messages"][0]
        body = {**body, "messages": [*body["messages"], {"role": "assistant", "content": content}, follow]}
