"""Server tools the API runs itself (web search, web fetch, tool search), in the shapes of 2025-11/2026 recordings.

A call is a ``server_tool_use`` block (``srvtoolu_…``, input streamed as ``input_json_delta``) followed by its result
block, complete in ``content_block_start``; web-search answers then cite a result in a text block whose
``citations_delta`` comes before its text. A turn runs at most ``TURN_LIMIT`` calls: past that the API stops with
``pause_turn`` after announcing the next call, and the client sends the turn back to have it continued. Result
``encrypted_content`` and citation ``encrypted_index`` are sealed like redacted thinking, so a path that changes one is
caught when the history comes back.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from ..core._ids import server_tool_use_id
from ._blocks import Block, input_deltas, text_block
from ._thinking import redacted_data

TURN_LIMIT = 10
"""Server tool calls in one turn before the API answers ``pause_turn`` (the documented default iteration limit)."""
KINDS = ("web_search", "web_fetch", "tool_search")
"""Server tool kinds, by type prefix (``web_search_20250305``, ``tool_search_tool_regex_20251119``, …)."""
CALLER = {"type": "direct"}
"""On server_tool_use blocks from 2026 (dd-trace recordings 2026-03), as on tool_use."""
RETRIEVED_AT = "2026-11-30T12:00:00.000000+00:00"
"""A fixed fetch time keeps every byte of an answer deterministic."""
_URL = re.compile(r"https?://[^\s\"'<>\]]+")


def server_tools(body: dict[str, Any]) -> dict[str, str]:
    """Name → kind (``web_search``/``web_fetch``) of the server tools a request declares."""
    found: dict[str, str] = {}
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("type"), str) and isinstance(tool.get("name"), str):
            kind = next((k for k in KINDS if tool["type"].startswith(k + "_")), None)
            if kind is not None:
                found[tool["name"]] = kind
    return found


def _continued_turn(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The blocks of a trailing assistant message (a paused turn sent back to be continued), else []."""
    messages = body.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    content = last.get("content") if last.get("role") == "assistant" else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


@dataclass
class ServerToolRun:
    """What the server tools did in one turn: the blocks, the request counts for ``usage.server_tool_use``."""

    blocks: list[Block] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"web_search_requests": 0, "web_fetch_requests": 0})
    paused: bool = False
    cited: list[dict[str, Any]] = field(default_factory=list)
    """Citations for the closing text (web-search results)."""


def run(body: dict[str, Any], name: str, kind: str, wanted: int, key: bytes, rng: random.Random,
        subject: str) -> ServerToolRun:
    """Run ``wanted`` calls of server tool ``name`` over the whole turn, continuing a paused one where it stopped."""
    result = ServerToolRun()
    earlier = _continued_turn(body)
    done = {b.get("tool_use_id") for b in earlier if str(b.get("type", "")).endswith("_tool_result")}
    uses = [b for b in earlier if b.get("type") == "server_tool_use"]
    pending = [b for b in uses if b.get("id") not in done]
    for use in pending:  # announced before the pause: run it now
        _execute(result, kind, str(use.get("id")), use.get("input") or {}, key)
    remaining = wanted - len(uses)
    while remaining > 0:
        call_id = server_tool_use_id(rng)
        value = {"query": subject[:60] or "reference upstream"} if kind == "web_search" else {"url": _url(subject)}
        result.blocks.append(_use_block(call_id, name, value))
        remaining -= 1
        if sum(result.counts.values()) >= TURN_LIMIT:
            result.paused = True  # announced, run when the client sends the turn back
            break
        _execute(result, kind, call_id, value, key)
    return result


def _use_block(call_id: str, name: str, value: dict[str, Any]) -> Block:
    return Block(
        start={"type": "server_tool_use", "id": call_id, "name": name, "input": {}, "caller": dict(CALLER)},
        final={"type": "server_tool_use", "id": call_id, "name": name, "input": value, "caller": dict(CALLER)},
        deltas=input_deltas(value),
    )


def tool_search_blocks(searcher: str, tool_name: str, rng: random.Random) -> list[Block]:
    """A tool search that finds ``tool_name`` (a ``defer_loading`` tool): the call and its ``tool_reference``."""
    call_id = server_tool_use_id(rng)
    value = {"query": tool_name} if "bm25" in searcher else {"pattern": tool_name}
    found = {"type": "tool_search_tool_search_result",
             "tool_references": [{"type": "tool_reference", "tool_name": tool_name}]}
    result = {"type": "tool_search_tool_result", "tool_use_id": call_id, "content": found}
    return [_use_block(call_id, searcher, value), Block(start=dict(result), final=dict(result))]


def _url(text: str) -> str:
    match = _URL.search(text)
    return match.group(0) if match else "https://example.com/"


def _execute(result: ServerToolRun, kind: str, call_id: str, value: dict[str, Any], key: bytes) -> None:
    if kind == "web_search":
        result.counts["web_search_requests"] += 1
        query = str(value.get("query", ""))
        hits = [_search_hit(key, query, n) for n in (1, 2)]
        block = {"type": "web_search_tool_result", "tool_use_id": call_id, "content": hits}
        result.cited.append(_citation(key, hits[0]))
    else:
        result.counts["web_fetch_requests"] += 1
        url = str(value.get("url", ""))
        document = {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": f"Reference upstream page at {url}."},
            "title": "Reference upstream page",
        }
        fetched = {"type": "web_fetch_result", "url": url, "content": document, "retrieved_at": RETRIEVED_AT}
        block = {"type": "web_fetch_tool_result", "tool_use_id": call_id, "content": fetched}
    result.blocks.append(Block(start=dict(block), final=dict(block)))


def _search_hit(key: bytes, query: str, n: int) -> dict[str, Any]:
    url = f"https://example.com/search/{n}"
    return {
        "type": "web_search_result",
        "title": f"Result {n} for {query}"[:80],
        "url": url,
        "encrypted_content": redacted_data(key, f"content:{url}:{query}"),
        "page_age": "3 days ago" if n == 1 else None,
    }


def _citation(key: bytes, hit: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "web_search_result_location",
        "cited_text": "Every byte of this answer is deterministic. ",
        "url": hit["url"],
        "title": hit["title"],
        "encrypted_index": redacted_data(key, f"index:{hit['url']}"),
    }


def closing_blocks(run_: ServerToolRun, pieces: list[str]) -> list[Block]:
    """The text after the calls: a plain lead-in, then (for web search) the cited sentence."""
    if not pieces:
        return []
    blocks = [text_block(pieces)]
    if run_.cited:
        blocks.append(text_block(["The reference upstream found it."], citations=run_.cited[:1]))
    return blocks

