"""server-tools.* — do the blocks of tools the API runs itself (web search, web fetch) survive the path, and does a
turn the server paused go on when sent back through it?"""

from __future__ import annotations

import json
from typing import Any

from ..core._sse import assemble_message, decode_events
from ._context import CheckContext, json_or_none
from ._payloads import server_tool_body
from ._registry import check
from ._requirements import API_SERVER_TOOLS, SERVER_TOOLS
from ._verify import holds, same

PAUSING_CALLS = 11
"""One more search than the server runs in a turn, so the upstream pauses it (pause_turn)."""


def _message(data: bytes, stream: bool) -> dict[str, Any]:
    if stream:
        return assemble_message(decode_events(data))
    parsed = json_or_none(data)
    return parsed if isinstance(parsed, dict) else {}


def _compare(ctx: CheckContext, *, stream: bool) -> None:
    for tool in ("web_search", "web_fetch"):
        label = f"{tool} ({'stream' if stream else 'json'})"
        exchange = ctx.reached(ctx.send(server_tool_body(ctx, stream=stream, tool=tool), label=label))
        entry = ctx.received(exchange)
        theirs, ours = _message(entry.response_body or b"", stream), _message(exchange.body, stream)
        kinds = [b.get("type") for b in theirs.get("content", [])]
        ctx.note(f"{tool}_blocks", kinds)
        ctx.expect("server_tool_use" in kinds, f"{label}: the upstream ran no server tool", actual=kinds)
        same(ctx, ours.get("content"), theirs.get("content"),
             f"{label}: content differs from the upstream's (server_tool_use, results or citations)")
        counts = [(m.get("usage") or {}).get("server_tool_use") for m in (theirs, ours)]
        holds(ctx, counts[0] is not None and counts[0] == counts[1],
              f"{label}: usage.server_tool_use differs: {counts[1]}", counts[0], counts[1])


@check(id="server-tools.blocks-intact", faults={"drop-citations": "fail"},
       title="Do server_tool_use, web search and fetch results, citations and usage.server_tool_use come back as sent?",
       requirement=SERVER_TOOLS, source=API_SERVER_TOOLS,
       failure_example="web_search (json): content differs from the upstream's (server_tool_use, results or citations)")
def blocks_intact(ctx: CheckContext) -> None:
    _compare(ctx, stream=False)


@check(id="server-tools.streamed-intact", faults={"drop-citations": "fail"},
       title="Streamed, do server tool blocks and citations_delta rebuild the upstream's message exactly?",
       requirement=SERVER_TOOLS, source=API_SERVER_TOOLS, features=("messages", "streaming"),
       failure_example="web_search (stream): usage.server_tool_use differs: None")
def streamed_intact(ctx: CheckContext) -> None:
    _compare(ctx, stream=True)


@check(id="server-tools.pause-turn-continues", faults={"normalise-stop-reason": "fail"},
       title="Does a paused turn (pause_turn) reach the client, and does sending it back through the path continue it?",
       requirement=SERVER_TOOLS, source=API_SERVER_TOOLS,
       failure_example="stop_reason differs from the upstream's pause_turn: 'end_turn'")
def pause_turn(ctx: CheckContext) -> None:
    body = server_tool_body(ctx, tool="web_search", parallel=PAUSING_CALLS)
    first = ctx.reached(ctx.send(body, label="paused turn"))
    entry = ctx.received(first)
    theirs, ours = _message(entry.response_body or b"", False), _message(first.body, False)
    if not holds(ctx, theirs.get("stop_reason") == "pause_turn" == ours.get("stop_reason"),
                 f"stop_reason differs from the upstream's pause_turn: {ours.get('stop_reason')!r}",
                 theirs.get("stop_reason"), ours.get("stop_reason")):
        return
    body["messages"].append({"role": "assistant", "content": ours.get("content")})
    second = ctx.reached(ctx.send(body, label="continued turn"))
    entry = ctx.received(second)
    sent_back = (json_or_none(entry.body) or {}).get("messages", [{}])[-1].get("content")
    holds(ctx, sent_back == theirs.get("content"), "the paused turn reached the upstream changed",
          json.dumps(theirs.get("content"))[:400], json.dumps(sent_back)[:400])
    continued = _message(second.body, False)
    holds(ctx, second.status == 200 and entry.status == 200 and continued.get("stop_reason") == "end_turn",
          f"continuing the turn: {second.status} {second.body[:200].decode(errors='replace')}", "200 end_turn",
          (second.status, entry.status, continued.get("stop_reason")))
