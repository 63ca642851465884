"""The deterministic "model": what the reference upstream answers to a valid Messages request.

An answer is a list of content blocks, each already cut into the pieces it streams as (text deltas,
``input_json_delta`` chunks, thinking deltas), plus the usage and stop reason. Rendering it as JSON or SSE is
``_render.py``'s job, so both shapes always agree.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from .._ids import message_id, tool_use_id
from ._cache import REQUEST_OVERHEAD_TOKENS, CacheUsage, segments
from ._config import UpstreamConfig
from ._directive import Scenario, parse_text
from ._schema_value import example_value
from ._thinking import redacted_data, sign

# Dated ids the API resolves aliases to (observed in recordings); anything else is echoed.
MODEL_ALIASES = {
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
}
_WORDS = "Hello from the reference upstream , every byte of this answer is deterministic .".split()


@dataclass
class Block:
    """One content block and the pieces it is streamed in."""

    start: dict[str, Any]
    """The block as ``content_block_start`` announces it."""
    final: dict[str, Any]
    """The block as it appears in a non-streaming ``content`` list."""
    deltas: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Answer:
    id: str
    model: str
    blocks: list[Block]
    stop_reason: str
    usage: CacheUsage
    output_tokens: int
    stop_sequence: str | None = None
    """The stop sequence the answer ended on (``stop_reason: "stop_sequence"``)."""


def _last_user(body: dict[str, Any]) -> dict[str, Any]:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return message
    return {}


def _directive_in_last_user(body: dict[str, Any]) -> bool:
    content = _last_user(body).get("content")
    texts = [content] if isinstance(content, str) else [
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    return any(parse_text(t) is not None for t in texts)


def _tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    content = _last_user(body).get("content")
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def _result_text(result: dict[str, Any]) -> str:
    content = result.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _split(text: str, parts: int) -> list[str]:
    """Cut ``text`` into ``parts`` non-empty pieces (fewer if the text is shorter)."""
    parts = max(1, min(parts, len(text)))
    size, extra = divmod(len(text), parts)
    pieces, pos = [], 0
    for i in range(parts):
        step = size + (1 if i < extra else 0)
        pieces.append(text[pos : pos + step])
        pos += step
    return pieces


def _text_block(pieces: list[str]) -> Block:
    return Block(
        start={"type": "text", "text": ""},
        final={"type": "text", "text": "".join(pieces)},
        deltas=[{"type": "text_delta", "text": p} for p in pieces],
    )


def _wanted_tools(body: dict[str, Any], scenario: Scenario) -> list[dict[str, Any]]:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "name" in t and "input_schema" in t]
    # After tool results, call a tool again only when the directive sits in that latest turn itself; a directive
    # from an earlier turn would otherwise make every follow-up call the tool again.
    if not tools or (_tool_results(body) and not _directive_in_last_user(body)):
        return []
    choice = body.get("tool_choice") if isinstance(body.get("tool_choice"), dict) else {}
    wanted = scenario.tool
    if choice.get("type") == "none":
        return []
    if choice.get("type") == "tool":
        wanted = str(choice.get("name"))
    elif choice.get("type") == "any" and wanted is None:
        wanted = "*"
    if wanted is None:
        return []
    count = scenario.parallel
    if choice.get("disable_parallel_tool_use"):
        count = 1
    if wanted == "*":
        return [tools[i % len(tools)] for i in range(count)]
    named = [t for t in tools if t["name"] == wanted]
    return named * count if named else []


def _tool_block(tool: dict[str, Any], rng: random.Random) -> Block:
    value = example_value(tool["input_schema"], tool["name"])
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    # The API's first input_json_delta is often empty; the rest arrive in small chunks.
    chunks = [""] + [encoded[i : i + 12] for i in range(0, len(encoded), 12)]
    block_id = tool_use_id(rng)
    return Block(
        # "caller" appears on tool_use blocks from 2026 (recording llm-anthropic sse_tool_use 2026-04).
        start={"type": "tool_use", "id": block_id, "name": tool["name"], "input": {}, "caller": {"type": "direct"}},
        final={"type": "tool_use", "id": block_id, "name": tool["name"], "input": value, "caller": {"type": "direct"}},
        deltas=[{"type": "input_json_delta", "partial_json": c} for c in chunks],
    )


def _thinking_block(config: UpstreamConfig, text: str) -> Block:
    signature = sign(config.signing_key, text)
    pieces = _split(text, 3)
    return Block(
        start={"type": "thinking", "thinking": "", "signature": ""},
        final={"type": "thinking", "thinking": text, "signature": signature},
        deltas=[{"type": "thinking_delta", "thinking": p} for p in pieces]
        + [{"type": "thinking_delta", "thinking": ""}, {"type": "signature_delta", "signature": signature}],
    )


def _redacted_block(config: UpstreamConfig, seed: str) -> Block:
    data = redacted_data(config.signing_key, seed)
    block = {"type": "redacted_thinking", "data": data}
    return Block(start=dict(block), final=dict(block))


def answer(
    body: dict[str, Any], scenario: Scenario, config: UpstreamConfig, usage: CacheUsage, rng: random.Random
) -> Answer:
    """Build the answer to ``body`` under ``scenario``; ``usage`` comes from the prompt cache."""
    model = MODEL_ALIASES.get(body["model"], body["model"])
    max_tokens = int(body.get("max_tokens") or 4096)
    blocks: list[Block] = []
    thinking_param = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
    thinking_mode = scenario.thinking
    if thinking_mode is None and thinking_param.get("type") in ("enabled", "adaptive"):
        thinking_mode = "1"
    cid = scenario.cid or "none"
    if thinking_mode == "redacted":
        blocks.append(_redacted_block(config, f"{cid}:{len(body.get('messages') or [])}"))
    elif thinking_mode is not None and thinking_mode != "0":
        turn = len(body.get("messages") or [])
        blocks.append(_thinking_block(config, f"Turn {turn} of {cid}: the user wants a short, deterministic answer."))

    tools = _wanted_tools(body, scenario)
    results = _tool_results(body)
    if tools and scenario.text_first:
        blocks.append(_text_block(["I'll use a tool", " for that."]))
    if results and tools:
        pass
    elif results:
        quoted = " ".join(f"Result of {r.get('tool_use_id')}: {_result_text(r)}." for r in results)
        blocks.append(_text_block(_split(quoted, scenario.deltas)))
    elif not tools:
        count = max(1, scenario.deltas)
        words = [(" " if i else "") + _WORDS[i % len(_WORDS)] for i in range(count)]
        blocks.append(_text_block(words))
    for tool in tools:
        blocks.append(_tool_block(tool, rng))

    stop_reason = "tool_use" if tools else "end_turn"
    # A text answer to a request with stop sequences ends where the model would have said the first one (the API
    # leaves the sequence out of the text and names it in stop_sequence).
    stops = [s for s in body.get("stop_sequences") or [] if isinstance(s, str) and s]
    stop_sequence = stops[0] if stops and not tools else None
    if stop_sequence is not None:
        stop_reason = "stop_sequence"
    output_tokens = sum(max(1, len(b.deltas)) for b in blocks)
    if output_tokens > max_tokens:
        blocks, output_tokens, stop_reason = _truncate(blocks, max_tokens), max_tokens, "max_tokens"
        stop_sequence = None
    return Answer(message_id(rng), model, blocks, stop_reason, usage, output_tokens, stop_sequence)


def _truncate(blocks: list[Block], budget: int) -> list[Block]:
    """Keep the first ``budget`` pieces of text (one piece costs one token), as a model cut by max_tokens."""
    kept: list[Block] = []
    for block in blocks:
        if budget <= 0:
            break
        if block.final["type"] == "text":
            pieces = [d["text"] for d in block.deltas[:budget]]
            kept.append(_text_block(pieces))
            budget -= len(pieces)
        else:
            kept.append(block)
            budget -= max(1, len(block.deltas))
    return kept or [_text_block([_WORDS[0]])]


def count_tokens(body: dict[str, Any]) -> int:
    """``input_tokens`` for ``/v1/messages/count_tokens``: the same estimate a Messages call is charged."""
    return REQUEST_OVERHEAD_TOKENS + sum(s.tokens for s in segments(body))
