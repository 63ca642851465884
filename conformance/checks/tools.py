"""tools.* — do tool definitions, tool_use blocks and tool_result turns cross the path intact?"""

from __future__ import annotations

import json
from typing import Any

from ._context import CheckContext, json_or_none
from ._registry import check
from ._requirements import API_TOOLS, FORWARD_UNCHANGED, TOOL_USE
from ._shared import streamed_blocks
from ._verify import holds, same

TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "input_schema": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": False,
        },
    },
    {
        "name": "search_code",
        "description": "Search the repository.",
        "input_schema": {
            "type": "object",
            "properties": {
                "pattern": {"type": "string"},
                "paths": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "options": {"type": "object", "properties": {"regex": {"type": "boolean"}}, "required": ["regex"]},
            },
            "required": ["pattern", "paths", "options"],
        },
    },
]


def tool_body(ctx: CheckContext, *, stream: bool = False, **directive: Any) -> dict[str, Any]:
    body = ctx.body("Use the tools.", stream=stream, **directive)
    body["tools"] = json.loads(json.dumps(TOOLS))
    return body



@check(id="tools.definitions-intact", faults={"strip-schema-field": "fail"},
       title="Do tool definitions (names, descriptions, input_schema) reach the upstream unchanged?",
       requirement=FORWARD_UNCHANGED, source=API_TOOLS,
       failure_example="tools differ upstream: input_schema.additionalProperties dropped")
def definitions_intact(ctx: CheckContext) -> None:
    body = tool_body(ctx)
    exchange = ctx.reached(ctx.send(body))
    entry = ctx.upstream_entry(exchange)
    if entry is not None:
        received = (json_or_none(entry.body) or {}).get("tools")
        same(ctx, received, body["tools"], "tools differ upstream")


@check(id="tools.tool-use-intact", faults={"empty-tool-input": "fail"},
       title="Does a tool_use answer (id, name, input, stop_reason tool_use) come back as the upstream sent it?",
       requirement=TOOL_USE, source=API_TOOLS, failure_example="tool_use input {} != {'city': 'example city', …}")
def tool_use_intact(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(tool_body(ctx, tool="get_weather")))
    entry = ctx.received(exchange)
    ours, theirs = json_or_none(exchange.body) or {}, json_or_none(entry.response_body) or {}
    holds(ctx, ours.get("stop_reason") == theirs.get("stop_reason") == "tool_use",
          f"stop_reason {ours.get('stop_reason')!r}", "tool_use", ours.get("stop_reason"))
    same(ctx, ours.get("content"), theirs.get("content"), "tool_use content differs from the upstream's")


@check(id="tools.streamed-input-reassembles", faults={"empty-tool-input": "fail"},
       title="Streamed, do the input_json_delta chunks reassemble to the upstream's tool input?",
       requirement=TOOL_USE + " The final input is the concatenated partial_json parsed at content_block_stop.",
       source=API_TOOLS, features=("messages", "streaming"),
       failure_example="streamed tool_use blocks differ: input '<unparseable: {\"city\": \"exa>'")
def streamed_input(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(tool_body(ctx, stream=True, tool="search_code")))
    entry = ctx.received(exchange)
    ours, theirs = streamed_blocks(exchange.body), streamed_blocks(entry.response_body)
    holds(ctx, bool(theirs) and ours == theirs, "streamed tool_use blocks differ", theirs, ours)


@check(id="tools.parallel-tool-use", faults={"first-tool-use-only": "fail"},
       title="Do parallel tool_use blocks all come back, in order, with their ids?", requirement=TOOL_USE,
       source=API_TOOLS, failure_example="2 tool_use blocks upstream, 1 reached the client")
def parallel(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(tool_body(ctx, tool="*", parallel=2)))
    entry = ctx.received(exchange)
    ours = [b for b in (json_or_none(exchange.body) or {}).get("content", []) if b.get("type") == "tool_use"]
    theirs = [b for b in (json_or_none(entry.response_body) or {}).get("content", []) if b.get("type") == "tool_use"]
    holds(ctx, len(ours) == len(theirs) == 2, f"{len(theirs)} tool_use blocks upstream, {len(ours)} reached the client",
          len(theirs), len(ours))
    same(ctx, [b.get("id") for b in ours], [b.get("id") for b in theirs], "tool_use ids differ")


@check(id="tools.result-roundtrip", faults={"strip-is-error": "fail"},
       title="Does the tool_result follow-up reach the upstream intact (ids, content, is_error) and its answer return?",
       requirement=TOOL_USE, source=API_TOOLS,
       failure_example="messages upstream differ from what the client sent: is_error dropped")
def result_roundtrip(ctx: CheckContext) -> None:
    first = ctx.reached(ctx.send(tool_body(ctx, tool="*", parallel=2), label="tool_use turn"))
    message = first.json_or_none() or {}
    uses = [b for b in message.get("content", []) if isinstance(b, dict) and b.get("type") == "tool_use"]
    if not same(ctx, len(uses), 2, f"the first turn returned {len(uses)} tool_use blocks"):
        return
    body = tool_body(ctx)
    body["messages"] += [
        {"role": "assistant", "content": message["content"]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": uses[0]["id"], "content": "Sunny, 21 °C <b>ok</b>"},
                {
                    "type": "tool_result",
                    "tool_use_id": uses[1]["id"],
                    "is_error": True,
                    "content": [{"type": "text", "text": "grep: paths: No such file or directory"}],
                },
            ],
        },
    ]
    exchange = ctx.reached(ctx.send(body, label="tool_result turn"))
    entry = ctx.received(exchange)
    received = (json_or_none(entry.body) or {}).get("messages")
    holds(ctx, received == body["messages"], "messages upstream differ from what the client sent", body["messages"][-1],
          (received or [None])[-1])
    ours, theirs = json_or_none(exchange.body) or {}, json_or_none(entry.response_body) or {}
    holds(ctx, exchange.status == 200 and ours.get("content") == theirs.get("content"),
          f"the final answer differs ({exchange.status})", theirs.get("content"),
          ours.get("content") or exchange.body[:300])
