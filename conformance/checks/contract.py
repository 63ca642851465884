"""contract.* — the clauses of Claude Code's gateway contract no other area asks about (``fixtures/contract/``).

Each check carries the clause it holds in its requirement; docs/checks.md's contract table maps every clause to its
checks, or says why it is uncovered.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from ..core._errors import RECOVERY_MESSAGES
from ..core._sse import decode_events
from ..core._threads import parallel
from ..core._wire import OAUTH_BETA
from ._context import CheckContext, json_or_none
from ._registry import Phase, check
from ._requirements import CLAUDE_CODE_PROTOCOL
from ._verify import holds, same

UNKNOWN_BETA = "egress-conformance-probe-2099-01-01"
UNKNOWN_VERSION = "2099-01-01"
ATTRIBUTION = "x-anthropic-billing-header: cc_version=2.1.332.e1c; cc_entrypoint=cli; cch=00000;"
CLAUDE_CODE_UA = "claude-cli/2.1.332 (external, cli)"
CLIENT_HEADERS = [("x-app", "cli"), ("x-stainless-lang", "js"), ("x-stainless-retry-count", "0"),
                  ("x-stainless-timeout", "600"), ("x-stainless-package-version", "0.91.0")]
PAIRS = {"context-management-2025-06-27": "context_management", "advanced-tool-use-2025-11-20": "defer_loading"}
SEARCH_TOOLS = [
    {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
    {"name": "get_weather", "description": "The weather at a place.", "defer_loading": True,
     "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}},
]
MODELS_BOUND_S = 3.0
"""Claude Code's model discovery gives up after 3000 ms (CLAUDE_CODE_GATEWAY_MODEL_DISCOVERY_TIMEOUT_MS)."""


def _sent(entry: Any) -> dict[str, Any]:
    parsed = json_or_none(entry.body)
    return parsed if isinstance(parsed, dict) else {}


@check(id="contract.unknown-beta-and-version", faults={"normalise-anthropic-headers": "fail"},
       title="Do an anthropic-beta value and an anthropic-version the path has never seen reach the upstream as sent?",
       requirement=CLAUDE_CODE_PROTOCOL + " anthropic-beta and anthropic-version are forwarded unchanged, byte for "
                   "byte: new values appear with every Claude Code release.",
       source="fixtures/contract/claude-code-gateway.yaml#version-and-beta-forwarded",
       failure_example="anthropic-beta values upstream ['interleaved-thinking-2025-05-14'] "
                       f"(sent [… '{UNKNOWN_BETA}'])")
def unknown_beta_and_version(ctx: CheckContext) -> None:
    betas = f"interleaved-thinking-2025-05-14,{UNKNOWN_BETA}"
    exchange = ctx.reached(ctx.send(ctx.body(), headers=[("anthropic-beta", betas)], label="unknown beta"))
    entry = ctx.received(exchange)
    sent, seen = exchange.request_headers.get_all("anthropic-beta"), entry.headers.get_all("anthropic-beta")
    # The oauth beta belongs to the credential (auth.oauth-beta-once judges it): a path translating auth adds it.
    values_sent = set(exchange.request_headers.betas()) - {OAUTH_BETA}
    values_seen = set(entry.headers.betas()) - {OAUTH_BETA}
    same(ctx, sorted(values_seen), sorted(values_sent), f"anthropic-beta values upstream {sorted(values_seen)} "
         f"(sent {sorted(values_sent)})")
    same(ctx, seen, sent, f"anthropic-beta not byte for byte: upstream {seen} (sent {sent})", level="should")
    # The upstream refuses a version it does not know (400); the path must still have carried it unchanged.
    exchange = ctx.reached(ctx.send(ctx.body(), version=False, headers=[("anthropic-version", UNKNOWN_VERSION)],
                                    label="unknown version"))
    entry = ctx.received(exchange)
    version = entry.headers.get_all("anthropic-version")
    same(ctx, version, [UNKNOWN_VERSION], f"anthropic-version upstream {version} (sent {UNKNOWN_VERSION})")


@check(id="contract.unknown-fields-kept", faults={"drop-unknown-fields": "fail"},
       title="Do body fields the path does not know (top level, inside a content block, inside a tool) reach the "
             "upstream unchanged?",
       requirement=CLAUDE_CODE_PROTOCOL + " The Anthropic Messages API, unchanged: a field added by a newer client "
                   "reaches the API as sent.",
       source="fixtures/contract/claude-code-gateway.yaml#messages-unchanged",
       failure_example="dropped on the way: egress_conformance_probe, messages.0.content.0.egress_probe")
def unknown_fields_kept(ctx: CheckContext) -> None:
    body = ctx.body()
    text = body["messages"][0]["content"]
    body["messages"][0]["content"] = [{"type": "text", "text": text, "egress_probe": {"kept": True}}]
    body["egress_conformance_probe"] = {"nested": [1, "two"]}
    body["tools"] = [{"name": "noop", "input_schema": {"type": "object", "properties": {}},
                      "eager_input_streaming": True}]
    exchange = ctx.reached(ctx.send(body))
    sent = _sent(ctx.received(exchange))
    lost = []
    if sent.get("egress_conformance_probe") != body["egress_conformance_probe"]:
        lost.append("egress_conformance_probe")
    block = ((sent.get("messages") or [{}])[0].get("content") or [{}])[0]
    if not isinstance(block, dict) or block.get("egress_probe") != {"kept": True}:
        lost.append("messages.0.content.0.egress_probe")
    tool = (sent.get("tools") or [{}])[0]
    if not isinstance(tool, dict) or tool.get("eager_input_streaming") is not True:
        lost.append("tools.0.eager_input_streaming")
    holds(ctx, not lost, f"dropped on the way: {', '.join(lost)}", "every field", lost)


@check(id="contract.beta-and-field-together", faults={"drop-body-field=context_management": "fail"},
       title="Do paired betas and body fields (context_management, a defer_loading tool) reach the upstream together?",
       requirement=CLAUDE_CODE_PROTOCOL + " A beta header and its paired body fields travel together; dropping one "
                   "without the other is a hard 400.",
       source="fixtures/contract/claude-code-gateway.yaml#beta-and-field-together",
       failure_example="context-management-2025-06-27 arrived without context_management")
def beta_and_field_together(ctx: CheckContext) -> None:
    body = ctx.body("Weather?", tool="get_weather")
    body["context_management"] = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    body["tools"] = copy.deepcopy(SEARCH_TOOLS)
    exchange = ctx.reached(ctx.send(body, headers=[("anthropic-beta", ",".join(PAIRS))]))
    entry = ctx.received(exchange)
    sent, betas = _sent(entry), set(entry.headers.betas())
    fields = {"context_management": "context_management" in sent,
              "defer_loading": any(isinstance(t, dict) and "defer_loading" in t for t in sent.get("tools") or [])}
    for beta, field in PAIRS.items():
        holds(ctx, (beta in betas) == fields[field],
              f"{beta} arrived without {field}" if beta in betas else f"{field} arrived without {beta}",
              "both or neither", {"beta": beta in betas, "field": fields[field]})
    answer = json_or_none(exchange.body) or {}
    holds(ctx, exchange.status == 200 and answer.get("context_management") == {"applied_edits": []},
          f"the answer lost context_management or failed: {exchange.status} {exchange.body[:160]!r}",
          {"applied_edits": []}, answer.get("context_management"))


@check(id="contract.system-attribution-first", faults={"prepend-system": "fail"},
       title="Does the attribution block stay the first entry of system[], unchanged, with the system prompt after it?",
       requirement=CLAUDE_CODE_PROTOCOL + " The attribution block is the first entry of system[]; the body is not "
                   "rewritten (attribution and the prompt cache both key on it).",
       source="fixtures/contract/claude-code-gateway.yaml#attribution-block-first",
       failure_example="system[0] upstream 'You are served through the company gateway.' (sent the attribution block)")
def system_attribution_first(ctx: CheckContext) -> None:
    body = ctx.body()
    system = [{"type": "text", "text": ATTRIBUTION},
              {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
               "cache_control": {"type": "ephemeral"}}]
    body["system"] = copy.deepcopy(system)
    exchange = ctx.reached(ctx.send(body))
    received = _sent(ctx.received(exchange)).get("system")
    first = received[0].get("text") if isinstance(received, list) and received and isinstance(received[0], dict) \
        else received
    same(ctx, received, system, f"system[0] upstream {str(first)[:80]!r} (sent the attribution block)")


@check(id="contract.client-headers-tolerated", faults={"reject-header=x-app": "fail"},
       title="Is a request carrying Claude Code's x-app and x-stainless-* headers answered, not refused?",
       requirement=CLAUDE_CODE_PROTOCOL + " The client also sends x-app and x-stainless-* headers — pass them through "
                   "or drop them, but don't reject the request because of them.",
       source="fixtures/contract/claude-code-gateway.yaml#client-headers-not-rejected",
       failure_example='refused: 400 {"error": "header x-app not allowed"}')
def client_headers_tolerated(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(), headers=list(CLIENT_HEADERS)))
    same(ctx, exchange.status, 200, f"refused: {exchange.status} {exchange.body[:120].decode(errors='replace')}")
    ctx.received(exchange)


@check(id="contract.user-agent-kept", faults={"replace-user-agent": "fail"},
       title="Does the client's User-Agent (claude-cli/…) reach the upstream unchanged?",
       requirement=CLAUDE_CODE_PROTOCOL + " Forward content-type, accept, accept-encoding, anthropic-version, "
                   "anthropic-beta, user-agent, and x-stainless-*.",
       source="fixtures/contract/claude-code-gateway.yaml#user-agent-and-headers-forwarded",
       failure_example="User-Agent upstream ['Python/3.11 aiohttp/3.9'] (sent claude-cli/2.1.332 (external, cli))")
def user_agent_kept(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(), headers=[("user-agent", CLAUDE_CODE_UA)]))
    seen = ctx.received(exchange).headers.get_all("user-agent")
    same(ctx, seen, [CLAUDE_CODE_UA], f"User-Agent upstream {seen} (sent {CLAUDE_CODE_UA})")


@check(id="contract.recovery-error-wording", faults={"wrap-errors": "fail", "generic-error-message": "fail"},
       title="Do the error messages Claude Code's recovery matches on (prompt is too long: …) reach it word for word?",
       requirement=CLAUDE_CODE_PROTOCOL + " A 400/413 in Anthropic's own error envelope (e.g. prompt is too long: …): "
                   "relay that error.message, the client's recovery (auto-compact etc.) keys on it.",
       source="fixtures/contract/claude-code-gateway.yaml#error-wording-relayed",
       failure_example="prompt_too_long: client read 'litellm.BadRequestError: …' (upstream 'prompt is too long: …')")
def recovery_error_wording(ctx: CheckContext) -> None:
    for wording, message in RECOVERY_MESSAGES.items():
        exchange = ctx.reached(ctx.send(ctx.body(wording=wording), label=wording))
        ctx.received(exchange)
        error = (json_or_none(exchange.body) or {}).get("error") or {}
        said = error.get("message") if isinstance(error, dict) else None
        holds(ctx, exchange.status == 400 and said == message,
              f"{wording}: client read {str(said)[:80]!r} (upstream {message!r})", message, said)


@check(id="contract.head-probe-tolerated", faults={"reset-head": "pass-nonstrict"},
       title="Does the path answer Claude Code's start-up HEAD probe, and keep answering after it?",
       requirement=CLAUDE_CODE_PROTOCOL + " Claude Code 2.1.332 sends HEAD {base}/api/hello at start-up (10 s, errors "
                   "ignored) to warm the connection: the path must not fall over because of it.",
       source="fixtures/contract/claude-code-gateway.yaml#head-probe-tolerated", level="should",
       failure_example="HEAD /api/hello: no HTTP answer (connection reset)")
def head_probe_tolerated(ctx: CheckContext) -> None:
    for path in ("/api/hello", "/"):
        probe = ctx.send(None, method="HEAD", path=path, auth="", version=False, timeout=10, label=f"HEAD {path}")
        ctx.expect(probe.status is not None, f"HEAD {path}: no HTTP answer ({probe.error})", actual=probe.error)
    after = ctx.reached(ctx.send(ctx.body(), label="after the probe"))
    same(ctx, after.status, 200, f"the request after the probe got {after.status}", level="must")


@check(id="contract.models-discovery", faults={"redirect-models": "fail", "slow-models=4": "fail"},
       phase=Phase.STREAM_TIMING,
       title="Is GET /v1/models?limit=1000 answered within 3 s, without a redirect, in Anthropic's shape (or a 404)?",
       requirement=CLAUDE_CODE_PROTOCOL + ' Anthropic models-list shape {"data":[{"id","display_name"},...]}; return '
                   "404 to fall back; fixed-path endpoints are resolved against {base}, never a redirect.",
       source="fixtures/contract/claude-code-gateway.yaml#models-discovery",
       failure_example="GET /v1/models?limit=1000: 307 redirect (Claude Code fetches with redirect: error)")
def models_discovery(ctx: CheckContext) -> None:
    """Claude Code gives up on discovery after 3 s. The path's time is judged as what it adds to the same request
    sent straight to the upstream at the same moment, in the run's quiet phase (``Phase.STREAM_TIMING``), so the
    harness's own load is in neither side, and on a warm path: the first request to a route can pay a gateway's lazy
    start-up (LiteLLM's first /v1/models took 2.9-4.2 s with one core busy, later ones a fraction of that), which a
    gateway serving agents all day has paid long before; the first request's time is kept in the evidence."""
    cid = ctx.new_cid()
    path = f"/v1/models?limit=1000&ec_cid={cid}"
    headers = [("x-ec-cid", cid), ("user-agent", CLAUDE_CODE_UA)]
    timed: dict[str, float] = {}

    def fetch(direct: bool) -> Any:
        started = time.monotonic()
        exchange = ctx.send(None, method="GET", path=path, headers=headers, direct=direct,
                            label="direct" if direct else "through the path")
        timed["direct" if direct else "path"] = time.monotonic() - started
        return exchange

    first = time.monotonic()
    ctx.reached(ctx.send(None, method="GET", path="/v1/models?limit=1000", headers=headers[1:], label="warm-up"))
    ctx.note("first_request_s", round(time.monotonic() - first, 3))
    exchange, _ = parallel(fetch, [False, True])
    exchange = ctx.reached(exchange)
    exchange.cid = cid
    added = timed["path"] - timed["direct"]
    ctx.note("took_s", {k: round(v, 3) for k, v in timed.items()})
    holds(ctx, not 300 <= (exchange.status or 0) < 400,
          f"GET /v1/models?limit=1000: {exchange.status} redirect (Claude Code fetches with redirect: error)",
          "no redirect", exchange.header("location"))
    holds(ctx, added <= MODELS_BOUND_S, f"the path added {added:.1f} s (Claude Code gives up after 3 s)",
          f"<= {MODELS_BOUND_S} s", round(added, 3))
    if exchange.status == 404:
        return  # a clean "not implemented": Claude Code falls back to its built-in list
    data = (json_or_none(exchange.body) or {}).get("data")
    usable = [m for m in data or [] if isinstance(m, dict) and re.search("claude|anthropic", str(m.get("id")), re.I)
              and "display_name" in m]
    holds(ctx, exchange.status == 200 and bool(usable), f"not a usable Anthropic models list: {exchange.status} "
          f"{exchange.body[:120]!r}", "200 {data:[{id,display_name}]}", exchange.status)
    entries = [e for e in ctx.upstream_entries(exchange) if "limit=1000" in e.query]
    holds(ctx, len(entries) >= 2, "the path did not ask the upstream for limit=1000", "limit=1000",
          [e.query for e in ctx.upstream_entries(exchange)])


@check(id="contract.tool-streaming-and-references", faults={"empty-tool-input": "fail"},
       title="Do fine-grained tool-streaming pieces and tool search's tool_reference blocks arrive as the "
             "upstream sent them?",
       requirement=CLAUDE_CODE_PROTOCOL + " Fine-grained tool streaming (input_json_delta pieces that are not JSON on "
                   "their own) and tool_reference blocks pass through.",
       source="fixtures/contract/claude-code-gateway.yaml#tool-streaming-and-references",
       features=("messages", "streaming"), failure_example="input_json_delta pieces differ: 0 reached the client of 6")
def tool_streaming_and_references(ctx: CheckContext) -> None:
    body = ctx.body("Weather?", stream=True, tool="get_weather")
    body["tools"] = copy.deepcopy(SEARCH_TOOLS)
    betas = "fine-grained-tool-streaming-2025-05-14,advanced-tool-use-2025-11-20"
    exchange = ctx.reached(ctx.send(body, headers=[("anthropic-beta", betas)]))
    entry = ctx.received(exchange)

    def pieces(data: bytes) -> list[str]:
        found = []
        for event in decode_events(data):
            delta = (json_or_none(event.data.encode()) or {}).get("delta") if event.data else None
            if isinstance(delta, dict) and delta.get("type") == "input_json_delta":
                found.append(delta.get("partial_json"))
        return found

    def references(data: bytes) -> list[Any]:
        return [(json_or_none(e.data.encode()) or {}).get("content_block") for e in decode_events(data)
                if e.name == "content_block_start" and "tool_search_tool_result" in e.data]

    theirs, ours = pieces(entry.response_body or b""), pieces(exchange.body)
    holds(ctx, bool(theirs) and ours == theirs, f"input_json_delta pieces differ: {len(ours)} reached the client "
          f"of {len(theirs)}", theirs[:8], ours[:8])
    theirs_refs, ours_refs = references(entry.response_body or b""), references(exchange.body)
    holds(ctx, bool(theirs_refs) and ours_refs == theirs_refs, "tool_reference blocks differ from the upstream's",
          theirs_refs, ours_refs)
