"""request.* — does the upstream receive the request the client sent: body, versions, betas, query, headers?"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ..core._wire import PROXY_REWRITABLE
from ._context import CheckContext, json_or_none
from ._payloads import claude_code_session
from ._registry import check
from ._requirements import CLAUDE_CODE_GATEWAY, FORWARD_UNCHANGED, WIRE_DOC
from ._verify import answered, holds, same


@check(id="request.body-unchanged",
       faults={"drop-body-field=temperature": "fail", "reserialize-request": "pass-nonstrict"},
       title="Does the upstream receive the request body the client sent (JSON-equal; ideally byte-identical)?",
       requirement=FORWARD_UNCHANGED, source=CLAUDE_CODE_GATEWAY,
       failure_example="the body upstream is not JSON-equal: keys ['temperature'] added")
def body_unchanged(ctx: CheckContext) -> None:
    body = ctx.body()
    body["temperature"] = 1.0
    body["system"] = [{"type": "text", "text": 'Unicode: café — 東京 ✓ and <tags attr="x">kept</tags>'}]
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    exchange = ctx.reached(ctx.send(body, content=content))
    entry = ctx.received(exchange)
    received = json_or_none(entry.body)
    if not holds(ctx, received == body, "the body upstream is not JSON-equal" + _diff(body, received), body,
                 received if received is not None else entry.body[:300]):
        return
    holds(ctx, entry.body == content, "the body upstream is JSON-equal but not byte-identical (re-serialised)",
          content[:200], entry.body[:200], level="should")


def _diff(sent: Any, got: Any) -> str:
    if isinstance(sent, dict) and isinstance(got, dict):
        added, removed = sorted(set(got) - set(sent)), sorted(set(sent) - set(got))
        changed = sorted(k for k in set(sent) & set(got) if sent[k] != got[k])
        return f": added {added}, removed {removed}, changed {changed}"
    return ""


@check(id="request.version-and-beta-once", faults={"duplicate-version": "fail", "strip-beta": "fail"},
       title="Do anthropic-version and anthropic-beta reach the upstream once each, unchanged?",
       requirement=FORWARD_UNCHANGED, source=CLAUDE_CODE_GATEWAY,
       failure_example="anthropic-version upstream ['2023-06-01', '2023-06-01'] (sent once)")
def version_and_beta(ctx: CheckContext) -> None:
    beta = "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
    exchange = ctx.reached(ctx.send(ctx.body(), headers=[("anthropic-beta", beta)]))
    entry = ctx.received(exchange)
    same(ctx, entry.headers.get_all("anthropic-version"), [ctx.run.version],
         f"anthropic-version upstream {entry.headers.get_all('anthropic-version')} (sent once)")
    betas = entry.headers.get_all("anthropic-beta")
    ours = [b.strip() for v in betas for b in v.split(",")]
    sent = beta.split(",")
    holds(ctx, all(ours.count(b) == 1 for b in sent), f"anthropic-beta upstream {betas} (sent {beta!r})", sent, ours)


@check(id="request.beta-query-kept", faults={"drop-query": "fail"},
       title="Is the ?beta=true query string kept on the way to the upstream?",
       requirement="Beta resources add ?beta=true to the URL.", source=f"{WIRE_DOC} §3.3",
       features=("messages", "beta-query"), failure_example="the upstream received query '' for /v1/messages?beta=true")
def beta_query(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(), path="/v1/messages?beta=true"))
    entry = ctx.received(exchange)
    holds(ctx, "beta=true" in entry.query.split("&"),
          f"the upstream received query {entry.query!r} for /v1/messages?beta=true", "beta=true", entry.query)


@check(id="request.metadata-kept", faults={"drop-body-field=metadata": "fail"},
       title="Does metadata.user_id reach the upstream?", requirement=FORWARD_UNCHANGED, source=CLAUDE_CODE_GATEWAY,
       failure_example="metadata upstream None (sent {'user_id': 'user_…'})")
def metadata_kept(ctx: CheckContext) -> None:
    body = ctx.body()
    body["metadata"] = {"user_id": "user_conformance_0123456789abcdef_account__session_1"}
    exchange = ctx.reached(ctx.send(body))
    got = (json_or_none(ctx.received(exchange).body) or {}).get("metadata")
    same(ctx, got, body["metadata"], f"metadata upstream {got} (sent {body['metadata']})")


@check(id="request.no-duplicate-headers", faults={"duplicate-version": "fail"},
       title="Does no end-to-end request header reach the upstream more times than the client sent it?",
       requirement=FORWARD_UNCHANGED + " (A duplicated anthropic-version is rejected: 9router#2357.)",
       source=f"{WIRE_DOC} §2.3", failure_example="duplicated upstream: ['anthropic-version']")
def no_duplicates(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(), headers=[("x-stainless-retry-count", "0")]))
    entry = ctx.received(exchange)
    sent = Counter(exchange.request_headers.names())
    got = Counter(entry.headers.names())
    duplicated = sorted(k for k, n in got.items() if n > max(sent.get(k, 0), 1) and k not in PROXY_REWRITABLE)
    holds(ctx, not duplicated, f"duplicated upstream: {duplicated}", [], duplicated)


@check(id="request.realistic-payload", faults={"waf": "fail"},
       title="Does a Claude-Code-sized request (tens of kB, code with XML-like tags, many tools, history, a signed "
             "thinking block) pass unchanged and get answered?",
       requirement="Exempt the path from request-body WAF inspection: real prompts carry source code and XML-like "
                   "tags; a WAF returns 403 on real sessions while short test requests pass.",
       source=CLAUDE_CODE_GATEWAY,
       evidence="the payload's size, the status, and where the upstream-received body first differs",
       failure_example="Claude-Code-sized request answered 403")
def realistic_payload(ctx: CheckContext) -> None:
    body = claude_code_session(ctx)
    exchange = ctx.reached(ctx.send(body, label="claude-code-sized request"))
    ctx.note("payload_bytes", len(exchange.request_body))
    answered(ctx, exchange, f"Claude-Code-sized request answered {exchange.status}")
    entry = ctx.received(exchange)
    received = json_or_none(entry.body)
    ctx.expect(received == body, "the Claude-Code-sized body changed on the way" + _diff(body, received),
               actual=entry.body[:300])


@check(id="request.upstream-sni", faults={"tls-sni=example.com": "fail"},
       title="Over TLS, does the upstream see SNI api.anthropic.com (so certificate checks and allowlists hold)?",
       requirement="The upstream is reached as api.anthropic.com: SNI, Host and certificate check all name it.",
       source="shared/reference/envoy-setup.md §3-§5", evidence="the SNI the upstream's TLS handshake received",
       failure_example="the upstream saw SNI 'example.com'")
def upstream_sni(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body()))
    entry = ctx.received(exchange)
    if not entry.tls:
        ctx.unsupported("the path reached the upstream over plain HTTP (no TLS, no SNI to check)")
    ctx.note("upstream_sni", entry.sni)
    ctx.note("upstream_host", entry.headers.get_all("host"))
    same(ctx, entry.sni, "api.anthropic.com", f"the upstream saw SNI {entry.sni!r}")
