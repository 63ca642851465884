"""accounting.* — can cost accounting come from this path? What the path's own usage records (LiteLLM's custom
callback) say about a request, against the usage the upstream sent for it.

A cost projection needs, per request: uncached input, output, cache reads, cache writes split by lifetime (5m, 1h,
priced differently) and server-tool uses. A record passes when each can be read from it: under Anthropic's names,
or under LiteLLM's (``completion_tokens``; ``prompt_tokens`` counting the cached tokens, with or without the writes).
Paths that keep no accounting (Envoy, nginx, …) are ``unsupported``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..core._sse import decode_events
from ._context import CheckContext
from ._payloads import cached_body, server_tool_body
from ._registry import check
from ._requirements import API_CACHING, CACHE_USAGE, WIRE_DOC
from ._verify import holds, same

CUT_RECORD_WAIT_S = 3.0
"""How long a cut stream's record is waited for at most: it is reported as found, not required."""
ACCOUNTING_FEATURES = ("messages", "streaming")


def upstream_usage(data: bytes, stream: bool) -> dict[str, Any]:
    """The usage the upstream reported for one response: the JSON body's, or message_start's updated by
    message_delta's (a stream's final counts)."""
    if not stream:
        try:
            return dict(json.loads(data).get("usage") or {})
        except (ValueError, AttributeError):
            return {}
    usage: dict[str, Any] = {}
    for event in decode_events(data):
        if event.name == "message_start":
            usage.update(event.json()["message"].get("usage") or {})
        elif event.name == "message_delta":
            usage.update({k: v for k, v in (event.json().get("usage") or {}).items() if v is not None})
    return usage


def recorded(ctx: CheckContext, cid: str, *, wait_s: float | None = None) -> list[dict[str, Any]]:
    """The path's usage records for request ``cid``, waiting up to ``wait_s`` (at most the path's own
    ``usage_record_lag_s``) for the first to appear."""
    lag = ctx.path.usage_record_lag_s
    deadline = time.monotonic() + (lag if wait_s is None else min(wait_s, lag))
    while True:
        records = [r for r in ctx.path.usage_records() or [] if r.get("cid") == cid]
        if records or time.monotonic() >= deadline:
            return records
        ctx.check_live()
        time.sleep(0.1)


def figures(record: dict[str, Any], upstream: dict[str, Any]) -> dict[str, Any]:
    """The cost figures a projection reads from ``record``, normalised to Anthropic's names (None where absent).
    Uncached input comes from ``input_tokens``, else from ``prompt_tokens`` minus what it counts of the cache."""
    usage = record.get("usage") or {}
    read = _first(usage, "cache_read_input_tokens", ("prompt_tokens_details", "cached_tokens"))
    written = _first(usage, "cache_creation_input_tokens")
    output = _first(usage, "output_tokens", "completion_tokens")
    if output is None:
        output = record.get("completion_tokens")
    uncached = _first(usage, "input_tokens")
    if uncached is None:
        prompt = _first(usage, "prompt_tokens")
        prompt = record.get("prompt_tokens") if prompt is None else prompt
        if prompt is not None:
            # LiteLLM's prompt_tokens includes cache reads and, depending on the release, cache writes: take the
            # reading that gives the upstream's figure if one does, else the one that includes both.
            options = [prompt - (read or 0) - (written or 0), prompt - (read or 0)]
            uncached = options[1] if options[1] == upstream.get("input_tokens") else options[0]
    # Anthropic's name, or LiteLLM's (under prompt_tokens_details since 1.7x).
    split = (usage.get("cache_creation") or usage.get("cache_creation_token_details")
             or (usage.get("prompt_tokens_details") or {}).get("cache_creation_token_details") or {})
    server = usage.get("server_tool_use") or {}
    return {"input_tokens": uncached, "output_tokens": output, "cache_read_input_tokens": read,
            "cache_creation_input_tokens": written,
            "ephemeral_5m_input_tokens": split.get("ephemeral_5m_input_tokens") if split else None,
            "ephemeral_1h_input_tokens": split.get("ephemeral_1h_input_tokens") if split else None,
            "web_search_requests": server.get("web_search_requests") if server else None}


def _first(usage: dict[str, Any], *keys: str | tuple[str, str]) -> Any:
    for key in keys:
        value = (usage.get(key[0]) or {}).get(key[1]) if isinstance(key, tuple) else usage.get(key)
        if value is not None:
            return value
    return None


def _expected(upstream: dict[str, Any]) -> dict[str, Any]:
    split = upstream.get("cache_creation") or {}
    return {"input_tokens": upstream.get("input_tokens"), "output_tokens": upstream.get("output_tokens"),
            "cache_read_input_tokens": upstream.get("cache_read_input_tokens") or 0,
            "cache_creation_input_tokens": upstream.get("cache_creation_input_tokens") or 0,
            "ephemeral_5m_input_tokens": split.get("ephemeral_5m_input_tokens"),
            "ephemeral_1h_input_tokens": split.get("ephemeral_1h_input_tokens"),
            "web_search_requests": (upstream.get("server_tool_use") or {}).get("web_search_requests")}


def _accounting(ctx: CheckContext) -> None:
    if ctx.path.usage_records() is None:
        ctx.unsupported("the path keeps no usage accounting a cost projection could read")


def _judge(ctx: CheckContext, label: str, body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any] | None:
    """Send ``body`` through the path and compare its usage record's ``keys`` with the upstream's usage."""
    stream = bool(body.get("stream"))
    exchange = ctx.reached(ctx.send(body, label=label))
    entry = ctx.upstream_entry(exchange)
    if entry is None or not same(ctx, exchange.status, 200, f"{label}: answered {exchange.status}"):
        return None
    upstream = upstream_usage(entry.response_body, stream)
    records = [r for r in recorded(ctx, exchange.cid or "") if r.get("event") == "success"]
    ctx.note(f"{label} records", records[:3])
    if not same(ctx, len(records), 1, f"{label}: {len(records)} usage records for one request"):
        return None
    got, want = figures(records[0], upstream), _expected(upstream)
    for key in keys:
        if want[key] is None:
            continue  # the upstream did not report it: nothing to account
        same(ctx, got[key], want[key], f"{label}: {key} recorded {got[key]!r}, the upstream reported {want[key]!r}")
    return records[0]


@check(id="accounting.tokens-recorded", faults={"ledger-first-usage": "fail"},
       title="Does the path's usage record of a request carry the upstream's input and output tokens, for "
             "JSON and for SSE?",
       requirement="A cost projection fed by the gateway's callbacks counts what the upstream billed: input_tokens "
                   "and output_tokens as the upstream reported them.",
       source=f"{WIRE_DOC} §6; LiteLLM custom callbacks (CustomLogger)", features=ACCOUNTING_FEATURES,
       evidence="the usage record the path's callback wrote, against the upstream's usage",
       failure_example="SSE: output_tokens recorded 0, the upstream reported 12")
def tokens_recorded(ctx: CheckContext) -> None:
    _accounting(ctx)
    ctx.auth_headers("api-key")
    for stream in (False, True):
        _judge(ctx, "SSE" if stream else "JSON", ctx.body("Count me.", stream=stream, deltas=5),
               ("input_tokens", "output_tokens"))


@check(id="accounting.cache-tokens-recorded", faults={"strip-cache-usage": "fail"},
       title="Does the usage record carry cache reads and cache writes, with the 5m/1h split, for JSON and SSE?",
       requirement=CACHE_USAGE + " Cache writes of a 1h lifetime cost more than 5m ones, so the split is billed.",
       source=API_CACHING, features=ACCOUNTING_FEATURES,
       evidence="the usage records of a cache write and a cache read, against the upstream's usage",
       failure_example="JSON cache read: cache_read_input_tokens recorded None, the upstream reported 1710")
def cache_tokens_recorded(ctx: CheckContext) -> None:
    _accounting(ctx)
    ctx.auth_headers("api-key")
    keys = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "ephemeral_5m_input_tokens",
            "ephemeral_1h_input_tokens")
    for stream in (False, True):
        nonce = ctx.new_cid()
        for turn in ("write", "read"):
            _judge(ctx, f"{'SSE' if stream else 'JSON'} cache {turn}", cached_body(ctx, nonce, stream=stream,
                                                                                   ttl="1h"), keys)


@check(id="accounting.server-tool-usage-recorded", faults={"drop-citations": "fail"},
       title="Does the usage record carry the server-tool uses (web searches) the upstream billed?",
       requirement="server_tool_use.web_search_requests is billed per search; a projection needs the count.",
       source=f"{WIRE_DOC} §5", features=ACCOUNTING_FEATURES,
       evidence="the usage record of a turn with a web search, against the upstream's usage",
       failure_example="web_search_requests recorded None, the upstream reported 1")
def server_tool_usage(ctx: CheckContext) -> None:
    _accounting(ctx)
    ctx.auth_headers("api-key")
    for stream in (False, True):
        body = server_tool_body(ctx, stream=stream, tool="web_search")
        _judge(ctx, f"{'SSE' if stream else 'JSON'} web search", body, ("web_search_requests",))


@check(id="accounting.error-and-cut-recorded", faults={"ledger-skips-errors": "pass-nonstrict"},
       title="Is an upstream error recorded as a failure by the path's accounting, and what does it record for a "
             "stream cut midway?",
       requirement="A failed request is recorded, as a failure, so a projection sees the attempt; a cut stream's "
                   "record is reported as found (its true bill never reaches the gateway).",
       source=f"{WIRE_DOC} §2", level="should", features=ACCOUNTING_FEATURES,
       evidence="the records written for a 429 and for a stream the upstream cut after two deltas",
       failure_example="429: nothing was recorded for a failed request")
def error_and_cut(ctx: CheckContext) -> None:
    _accounting(ctx)
    ctx.auth_headers("api-key")
    exchange = ctx.reached(ctx.send(ctx.body("Fail.", status=429, retry_after=0), label="429"))
    # What never reached the client as the upstream's 429 cannot be graded as a partial pass.
    if not same(ctx, exchange.status, 429, f"429: the path answered {exchange.status}", level="must"):
        return
    records = recorded(ctx, exchange.cid or "")
    ctx.note("429 records", records[:3])
    holds(ctx, bool(records), "429: nothing was recorded for a failed request", "a failure record", "none")
    for record in records:
        same(ctx, record.get("event"), "failure", f"429: recorded as {record.get('event')}")
    # A cut stream's true bill is not on the wire (no final message_delta); what was recorded is reported as found.
    exchange = ctx.reached(ctx.send(ctx.body("Cut.", stream=True, deltas=6, cut=1, after=2), label="cut stream"))
    records = recorded(ctx, exchange.cid or "", wait_s=CUT_RECORD_WAIT_S)
    ctx.note("cut stream records", [{k: r.get(k) for k in ("event", "prompt_tokens", "completion_tokens",
                                                            "response_cost")} for r in records][:3])


@check(id="accounting.cost-uses-cache-prices", faults={"ledger-flat-price": "pass-nonstrict"},
       title="Is the cost the path records for a cache read lower than for the cache write of the same prompt (cache "
             "prices applied), and does the path send its cost to the client?",
       requirement="Cache reads cost 0.1x the input price and 5m writes 1.25x (1h 2x): a cost that ignores them "
                   "overstates reads ten-fold.",
       source=API_CACHING, level="should", features=ACCOUNTING_FEATURES,
       evidence="the recorded cost of a cache write and a cache read, and the x-litellm-response-cost header",
       failure_example="cache read cost 0.0051 = cache write cost 0.0051")
def cost_uses_cache_prices(ctx: CheckContext) -> None:
    _accounting(ctx)
    ctx.auth_headers("api-key")
    nonce, costs, headers = ctx.new_cid(), {}, {}
    for turn in ("write", "read"):
        exchange = ctx.reached(ctx.send(cached_body(ctx, nonce), label=f"cache {turn}"))
        if not same(ctx, exchange.status, 200, f"cache {turn}: answered {exchange.status}", level="must"):
            return
        records = [r for r in recorded(ctx, exchange.cid or "") if r.get("event") == "success"]
        costs[turn] = records[0].get("response_cost") if records else None
        headers[turn] = exchange.headers.get("x-litellm-response-cost")
    ctx.note("costs", {"recorded": costs, "x-litellm-response-cost": headers})
    if not holds(ctx, all(isinstance(c, (int, float)) and c > 0 for c in costs.values()),
                 f"no cost recorded (write {costs['write']!r}, read {costs['read']!r})", "a cost per request", costs):
        return
    holds(ctx, costs["read"] < costs["write"], f"cache read cost {costs['read']} is not below the cache write's "
          f"{costs['write']}", f"< {costs['write']}", costs["read"])
