"""The deterministic "model": what the reference upstream answers to a valid Messages request.

An answer is a list of content blocks, each already cut into the pieces it streams as (text deltas,
``input_json_delta`` chunks, thinking deltas), plus the usage and stop reason. Rendering it as JSON or SSE is
``_render.py``'s job, so both shapes always agree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..core._ids import message_id, tool_use_id
from . import _server_tools
from ._blocks import Block, input_deltas, split, text_block
from ._cache import REQUEST_OVERHEAD_TOKENS, CacheUsage, segments
from ._config import UpstreamConfig
from ._directive import DIRECTIVE, Scenario, parse_text
from ._schema_value import example_value
from ._thinking import prefix_digest, redacted_data, sign

# Dated ids the API resolves aliases to (observed in recordings); anything else is echoed.
MODEL_ALIASES = {
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
}
_WORDS = "Hello from the reference upstream , every byte of this answer is deterministic .".split()


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
    thinking_tokens: int | None = None
    """``usage.output_tokens_details.thinking_tokens`` when the request enabled thinking (2026-05+), else None."""
    server_tool_use: dict[str, int] | None = None
    """``usage.server_tool_use`` request counts when a server tool ran this turn, else None."""
    context_management: dict[str, Any] | None = None
    """The top-level ``context_management`` when the request carries a ``context-management-*`` beta."""


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
    block_id = tool_use_id(rng)
    return Block(
        # "caller" appears on tool_use blocks from 2026 (recording llm-anthropic sse_tool_use 2026-04).
        start={"type": "tool_use", "id": block_id, "name": tool["name"], "input": {}, "caller": {"type": "direct"}},
        final={"type": "tool_use", "id": block_id, "name": tool["name"], "input": value, "caller": {"type": "direct"}},
        deltas=input_deltas(value),
    )


def _thinking_block(config: UpstreamConfig, text: str, *, omitted: bool = False,
                    bound_to: bytes | None = None) -> Block:
    """A signed thinking block (bound to a conversation prefix when ``bound_to``); ``omitted`` (``display:
    "omitted"`` or a ``redact-thinking-*`` beta) sends only the signature, over an empty text, as 2026 models do by
    default."""
    if omitted:
        signature = sign(config.signing_key, "", hidden=text, bound_to=bound_to)
        return Block(
            start={"type": "thinking", "thinking": "", "signature": ""},
            final={"type": "thinking", "thinking": "", "signature": signature},
            deltas=[{"type": "signature_delta", "signature": signature}],
        )
    signature = sign(config.signing_key, text, bound_to=bound_to)
    pieces = split(text, 3)
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


def _thinking_blocks(body: dict[str, Any], scenario: Scenario, config: UpstreamConfig,
                     betas: frozenset[str]) -> tuple[list[Block], bool]:
    """The thinking that opens the answer, and whether the request enabled thinking (so usage counts it).

    After tool results the model thinks again only with interleaved thinking (the ``interleaved-thinking-*`` beta,
    or adaptive thinking, which interleaves by itself); the 2026-05 recording of a tool chain shows no thinking
    block, and ``thinking_tokens: 0``, in the turn after the tool result."""
    param = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
    enabled = param.get("type") in ("enabled", "adaptive")
    mode = scenario.thinking
    if mode is None and enabled:
        interleaved = param.get("type") == "adaptive" or any(b.startswith("interleaved-thinking-") for b in betas)
        mode = "0" if _tool_results(body) and not interleaved else "1"
    counted = enabled or mode not in (None, "0")
    cid = scenario.cid or "none"
    turn = len(body.get("messages") or [])
    if mode == "redacted":
        return [_redacted_block(config, f"{cid}:{turn}")], counted
    if mode in (None, "0"):
        return [], counted
    omitted = mode == "omitted" or param.get("display") == "omitted" or any(
        b.startswith("redact-thinking-") for b in betas)
    text = f"Turn {turn} of {cid}: the user wants a short, deterministic answer."
    # A bound block's prefix is everything the answer follows: it will sit after all of this request's messages.
    bound_to = prefix_digest(body, turn) if scenario.bound else None
    return [_thinking_block(config, text, omitted=omitted, bound_to=bound_to)], counted


def _subject(body: dict[str, Any]) -> str:
    """The last user text without the directive: what a server tool searches for or fetches."""
    content = _last_user(body).get("content")
    texts = [content] if isinstance(content, str) else [
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    return DIRECTIVE.sub("", " ".join(t for t in texts if isinstance(t, str))).strip()


def _tool_search(body: dict[str, Any], tools: list[dict[str, Any]], rng: random.Random) -> list[Block]:
    """Before calling a ``defer_loading`` tool the model finds it with the request's tool-search tool."""
    deferred = [t for t in tools if t.get("defer_loading")]
    searcher = next((n for n, k in _server_tools.server_tools(body).items() if k == "tool_search"), None)
    if not deferred or searcher is None:
        return []
    return _server_tools.tool_search_blocks(searcher, deferred[0]["name"], rng) + [text_block(["Found it", "."])]


def answer(
    body: dict[str, Any], scenario: Scenario, config: UpstreamConfig, usage: CacheUsage, rng: random.Random,
    betas: frozenset[str] = frozenset(),
) -> Answer:
    """Build the answer to ``body`` under ``scenario`` and the request's ``anthropic-beta`` values; ``usage`` comes
    from the prompt cache."""
    model = MODEL_ALIASES.get(body["model"], body["model"])
    max_tokens = int(body.get("max_tokens") or 4096)
    blocks, thinking_counted = _thinking_blocks(body, scenario, config, betas)
    thinking_tokens = sum(max(1, len(b.deltas)) for b in blocks) if thinking_counted else None

    tools = _wanted_tools(body, scenario)
    results = _tool_results(body)
    server_kind = _server_tools.server_tools(body).get(scenario.tool or "")
    ran: _server_tools.ServerToolRun | None = None
    if tools and scenario.text_first:
        blocks.append(text_block(["I'll use a tool", " for that."]))
    if server_kind in ("web_search", "web_fetch"):
        if scenario.text_first:
            blocks.append(text_block(["I'll look that up", "."]))
        ran = _server_tools.run(body, str(scenario.tool), server_kind, scenario.parallel, config.signing_key, rng,
                                _subject(body))
        blocks += ran.blocks
        if not ran.paused:  # deltas=0: the model stopped after the tool result, as in the web-fetch recording
            words = [(" " if i else "") + _WORDS[i % len(_WORDS)] for i in range(scenario.deltas)]
            blocks += _server_tools.closing_blocks(ran, words)
    elif results and tools:
        pass
    elif results:
        quoted = " ".join(f"Result of {r.get('tool_use_id')}: {_result_text(r)}." for r in results)
        blocks.append(text_block(split(quoted, scenario.deltas)))
    elif not tools:
        count = max(1, scenario.deltas)
        words = [(" " if i else "") + _WORDS[i % len(_WORDS)] for i in range(count)]
        blocks.append(text_block(words))
    searched = _tool_search(body, tools, rng)
    if searched:
        ran = ran or _server_tools.ServerToolRun()
    blocks += searched
    for tool in tools:
        blocks.append(_tool_block(tool, rng))

    stop_reason = "tool_use" if tools else "end_turn"
    if ran is not None and ran.paused:
        stop_reason = "pause_turn"
    # A text answer to a request with stop sequences ends where the model would have said the first one (the API
    # leaves the sequence out of the text and names it in stop_sequence).
    stops = [s for s in body.get("stop_sequences") or [] if isinstance(s, str) and s]
    stop_sequence = stops[0] if stops and stop_reason == "end_turn" else None
    if stop_sequence is not None:
        stop_reason = "stop_sequence"
    output_tokens = sum(max(1, len(b.deltas)) for b in blocks)
    if output_tokens > max_tokens:
        blocks, output_tokens, stop_reason = _truncate(blocks, max_tokens), max_tokens, "max_tokens"
        stop_sequence = None
    context = {"applied_edits": []} if any(b.startswith("context-management-") for b in betas) else None
    return Answer(message_id(rng), model, blocks, stop_reason, usage, output_tokens, stop_sequence,
                  thinking_tokens, dict(ran.counts) if ran is not None else None, context)


def _truncate(blocks: list[Block], budget: int) -> list[Block]:
    """Keep the first ``budget`` pieces of text (one piece costs one token), as a model cut by max_tokens."""
    kept: list[Block] = []
    for block in blocks:
        if budget <= 0:
            break
        if block.final["type"] == "text":
            pieces = [d["text"] for d in block.deltas if d["type"] == "text_delta"][:budget]
            kept.append(text_block(pieces, block.final.get("citations")))
            budget -= len(pieces)
        else:
            kept.append(block)
            budget -= max(1, len(block.deltas))
    return kept or [text_block([_WORDS[0]])]


def count_tokens(body: dict[str, Any]) -> int:
    """``input_tokens`` for ``/v1/messages/count_tokens``: the same estimate a Messages call is charged."""
    return REQUEST_OVERHEAD_TOKENS + sum(s.tokens for s in segments(body))
