"""headers.* — informational: which headers the path adds, removes or changes, in each direction."""

from __future__ import annotations

from typing import Any

from ..core._wire import PROXY_REWRITABLE
from ._context import CheckContext
from ._registry import check
from ._requirements import CLAUDE_CODE_GATEWAY, FORWARD_UNCHANGED, WIRE_DOC
from ._verify import same


def _diff(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> dict[str, Any]:
    a = {k.lower(): v for k, v in before if k.lower() not in PROXY_REWRITABLE}
    b = {k.lower(): v for k, v in after if k.lower() not in PROXY_REWRITABLE}
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "changed": sorted(k for k in set(a) & set(b) if a[k] != b[k] and k not in ("date",)),
        "case_changed": sorted({k for k, _ in before} - {k for k, _ in after} - set(a) - set(b) - PROXY_REWRITABLE),
    }


def _observe(ctx: CheckContext, key: str, diff: dict[str, Any]) -> None:
    ctx.note(key, diff)
    ctx.expect(not (diff["added"] or diff["removed"] or diff["changed"]),
               f"added {diff['added']}; removed {diff['removed']}; changed {diff['changed']}")


@check(id="headers.response-diff", faults={"add-response-header": "info"},
       title="Which response headers does the path add, remove or change (server, x-envoy-*, x-litellm-*)?",
       requirement=FORWARD_UNCHANGED, source=CLAUDE_CODE_GATEWAY, level="info",
       evidence="added, removed and changed response header names",
       failure_example="added ['x-litellm-call-id']; removed ['anthropic-ratelimit-requests-limit']")
def response_diff(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body()))
    entry = ctx.received(exchange)
    _observe(ctx, "response_header_diff", _diff(entry.response_headers, exchange.headers))


@check(id="headers.request-diff", faults={"add-request-header": "info"},
       title="Which request headers does the path add, remove or change on the way to the upstream?",
       requirement=FORWARD_UNCHANGED, source=CLAUDE_CODE_GATEWAY, level="info",
       evidence="added, removed and changed request header names (credentials redacted)",
       failure_example="added ['x-forwarded-for', 'x-request-id']; removed []")
def request_diff(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(), headers=[("X-Claude-Code-Session-Id", "conformance-session")]))
    entry = ctx.received(exchange)
    _observe(ctx, "request_header_diff", _diff(exchange.request_headers, entry.headers))


@check(id="headers.content-encoding-kept", faults={"decode-content": "pass-nonstrict"},
       title="Does the response keep the upstream's Content-Encoding (no compression added, removed or changed)?",
       requirement=FORWARD_UNCHANGED + " The API compresses successful JSON and SSE responses for clients that ask.",
       source=f"{CLAUDE_CODE_GATEWAY}; {WIRE_DOC} §1", level="should", features=("messages", "streaming"),
       evidence="Content-Encoding and wire/decoded sizes upstream and at the client, for a JSON and an SSE answer",
       failure_example="SSE: the upstream sent gzip, the client got identity (the path decoded the stream)")
def content_encoding_kept(ctx: CheckContext) -> None:
    """Compared on the wire, not on content: every other check compares decoded bodies, so a path that adds,
    removes or changes compression passes them all and shows only here."""
    for label, body in (("JSON", ctx.body()), ("SSE", ctx.body(stream=True))):
        exchange = ctx.reached(ctx.send(body, label=f"{label} answer"))
        entry = ctx.upstream_entry(exchange)
        if entry is None:
            continue
        theirs, ours = entry.content_encoding or "identity", exchange.content_encoding or "identity"
        ctx.note(f"{label.lower()}_encoding", {
            "upstream": theirs, "client": ours, "upstream_wire_bytes": len(entry.wire_body),
            "client_wire_bytes": len(exchange.raw_body), "decoded_bytes": len(exchange.body)})
        same(ctx, ours, theirs, f"{label}: the upstream sent {theirs}, the client got {ours}")
