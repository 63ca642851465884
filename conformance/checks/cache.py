"""cache.* — do cache_control breakpoints reach the upstream, and does cache usage come back as reported?"""

from __future__ import annotations

import json
from typing import Any

from ..core._sse import decode_events
from ._context import CheckContext
from ._payloads import cached_body
from ._registry import check
from ._requirements import API_CACHING, CACHE_USAGE, FORWARD_UNCHANGED
from ._verify import holds, same

USAGE_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation")
# Long enough for every model's minimum cacheable prefix in the reference upstream's token estimate.



def _usages(data: bytes, stream: bool) -> dict[str, Any]:
    if not stream:
        try:
            return {"message": json.loads(data).get("usage", {})}
        except (ValueError, AttributeError):
            return {}
    out: dict[str, Any] = {}
    for event in decode_events(data):
        if event.name == "message_start":
            out["message_start"] = event.json()["message"].get("usage", {})
        elif event.name == "message_delta":
            out["message_delta"] = event.json().get("usage", {})
    return out


def _write_then_read(ctx: CheckContext, stream: bool) -> None:
    nonce = ctx.new_cid()
    for turn in ("write", "read"):
        exchange = ctx.reached(ctx.send(cached_body(ctx, nonce, stream=stream, ttl="1h"), label=f"cache {turn}"))
        entry = ctx.upstream_entry(exchange)
        if entry is None or not same(ctx, exchange.status, 200, f"cache {turn} answered {exchange.status}"):
            return
        ours, theirs = _usages(exchange.body, stream), _usages(entry.response_body, stream)
        for where, usage in theirs.items():
            for key in USAGE_KEYS:
                if key in usage:
                    got = ours.get(where, {}).get(key)
                    same(ctx, got, usage[key], f"cache {turn}, {where}: {key} {got!r}, upstream sent {usage[key]!r}")
        field = "cache_creation_input_tokens" if turn == "write" else "cache_read_input_tokens"
        first = next(iter(theirs.values()), {})
        holds(ctx, first.get(field, 0) > 0,
              f"cache {turn}: the upstream reported no {field} (the path changed the prefix between calls?)", "> 0",
              first.get(field))


@check(id="cache.control-forwarded", faults={"strip-cache-control": "fail"},
       title="Do cache_control breakpoints (including ttl 1h) reach the upstream unchanged?",
       requirement=FORWARD_UNCHANGED, source=API_CACHING,
       failure_example="system.0.cache_control {'type': 'ephemeral'} != {'type': 'ephemeral', 'ttl': '1h'}")
def control_forwarded(ctx: CheckContext) -> None:
    body = cached_body(ctx, ctx.new_cid(), ttl="1h")
    body["messages"][0]["content"] = [
        {"type": "text", "text": body["messages"][0]["content"], "cache_control": {"type": "ephemeral", "ttl": "5m"}}
    ]
    exchange = ctx.reached(ctx.send(body))
    entry = ctx.received(exchange)
    try:
        received = json.loads(entry.body)
    except ValueError:
        ctx.expect(False, "the upstream received a body that is not JSON", actual=entry.body[:200])
        return
    pairs = [
        ("tools.0", body["tools"][0], (received.get("tools") or [{}])[0]),
        ("system.0", body["system"][0], _first(received.get("system"))),
        (
            "messages.0.content.0",
            body["messages"][0]["content"][0],
            _first(received.get("messages", [{}])[0].get("content")),
        ),
    ]
    for where, sent, got in pairs:
        got_control = got.get("cache_control") if isinstance(got, dict) else None
        same(ctx, got_control, sent["cache_control"], f"{where}.cache_control {got_control} != {sent['cache_control']}")


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else {}


@check(id="cache.usage-preserved", faults={"strip-cache-usage": "fail"},
       title="On a cache write then read, do the client's usage numbers equal what the upstream reported?",
       requirement=CACHE_USAGE, source=API_CACHING,
       failure_example="cache read, message: cache_read_input_tokens 0, upstream sent 1431")
def usage_preserved(ctx: CheckContext) -> None:
    _write_then_read(ctx, stream=False)


@check(id="cache.usage-preserved-streaming", faults={"strip-cache-usage": "fail"},
       title="Streaming, do message_start and message_delta carry the upstream's cache usage?",
       requirement=CACHE_USAGE + " message_delta usage is cumulative.", source=API_CACHING,
       features=("messages", "streaming"),
       failure_example="cache write, message_delta: cache_creation_input_tokens None, upstream sent 1431")
def usage_preserved_streaming(ctx: CheckContext) -> None:
    _write_then_read(ctx, stream=True)
