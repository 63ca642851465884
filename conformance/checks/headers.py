"""headers.* — informational: which headers the path adds, removes or changes, in each direction."""

from __future__ import annotations

from typing import Any

from ._context import CheckContext
from ._registry import check
from ._requirements import CLAUDE_CODE_GATEWAY, FORWARD_UNCHANGED
from .request import HOP_BY_HOP


def _diff(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> dict[str, Any]:
    a = {k.lower(): v for k, v in before if k.lower() not in HOP_BY_HOP}
    b = {k.lower(): v for k, v in after if k.lower() not in HOP_BY_HOP}
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "changed": sorted(k for k in set(a) & set(b) if a[k] != b[k] and k not in ("date",)),
        "case_changed": sorted({k for k, _ in before} - {k for k, _ in after} - set(a) - set(b) - HOP_BY_HOP),
    }


@check(
    id="headers.response-diff",
    title="Which response headers does the path add, remove or change (server, x-envoy-*, x-litellm-*)?",
    requirement=FORWARD_UNCHANGED,
    source=CLAUDE_CODE_GATEWAY,
    level="info",
    evidence="added, removed and changed response header names",
    failure_example="added ['x-litellm-call-id']; removed ['anthropic-ratelimit-requests-limit']",
)
def response_diff(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body()))
    entry = ctx.upstream_entry(exchange)
    if entry is None:
        return
    diff = _diff(entry.response_headers, exchange.headers)
    ctx.note("response_header_diff", diff)
    ctx.expect(
        not (diff["added"] or diff["removed"] or diff["changed"]),
        f"added {diff['added']}; removed {diff['removed']}; changed {diff['changed']}",
    )


@check(
    id="headers.request-diff",
    title="Which request headers does the path add, remove or change on the way to the upstream?",
    requirement=FORWARD_UNCHANGED,
    source=CLAUDE_CODE_GATEWAY,
    level="info",
    evidence="added, removed and changed request header names (credentials redacted)",
    failure_example="added ['x-forwarded-for', 'x-request-id']; removed []",
)
def request_diff(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(), headers=[("X-Claude-Code-Session-Id", "conformance-session")]))
    entry = ctx.upstream_entry(exchange)
    if entry is None:
        return
    diff = _diff(exchange.request_headers, entry.headers)
    ctx.note("request_header_diff", diff)
    ctx.expect(
        not (diff["added"] or diff["removed"] or diff["changed"]),
        f"added {diff['added']}; removed {diff['removed']}; changed {diff['changed']}",
    )
