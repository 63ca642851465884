"""endpoints.* — are the other endpoints Claude Code calls reachable through the path, and unchanged?"""

from __future__ import annotations

import json

from ._context import CheckContext
from ._registry import check
from ._requirements import CLAUDE_CODE_GATEWAY, WIRE_DOC


def _same(ctx: CheckContext, label: str, exchange, entry) -> None:  # type: ignore[no-untyped-def]
    # An endpoint the path does not serve (404/405) is the check's own question, graded at its level; any other
    # failure (a 5xx, an HTML error page) is the path failing the request, which no level grades as a partial pass.
    not_served = exchange.status in (404, 405)
    ctx.expect(
        exchange.status == 200,
        f"{label} answered {exchange.status}",
        expected=200,
        actual=f"{exchange.status} {exchange.body[:200]!r}",
        level=None if not_served else "must",
    )
    if entry is None:
        return
    try:
        same = json.loads(exchange.body) == json.loads(entry.response_body)
    except ValueError:
        same = False
    ctx.expect(
        same,
        f"{label}: the body differs from the upstream's",
        expected=entry.response_body[:300],
        actual=exchange.body[:300],
    )


@check(
    id="endpoints.count-tokens",
    faults={"block-path=/v1/messages/count_tokens": "fail"},
    title="Is POST /v1/messages/count_tokens reachable and its answer the upstream's?",
    requirement="A gateway for Claude Code accepts POST /v1/messages (plus /v1/messages/count_tokens).",
    source=CLAUDE_CODE_GATEWAY,
    features=("count_tokens",),
    failure_example="count_tokens answered 404",
)
def count_tokens(ctx: CheckContext) -> None:
    body = ctx.body()
    del body["max_tokens"]
    exchange = ctx.reached(ctx.send(body, path="/v1/messages/count_tokens"))
    _same(ctx, "count_tokens", exchange, ctx.upstream_entry(exchange))


@check(
    id="endpoints.models",
    faults={"block-path=/v1/models": "pass-nonstrict"},
    title="Is GET /v1/models reachable and its answer the upstream's?",
    requirement="Claude Code queries the gateway's /v1/models.",
    source=f"{WIRE_DOC} §8; {CLAUDE_CODE_GATEWAY}",
    level="should",
    features=("models",),
    failure_example="models answered 404",
)
def models(ctx: CheckContext) -> None:
    cid = ctx.new_cid()
    exchange = ctx.reached(ctx.send(None, method="GET", path=f"/v1/models?ec_cid={cid}", headers=[("x-ec-cid", cid)]))
    exchange.cid = cid
    if exchange.status in (404, 405):  # not served by the path: the question this should-check asks, answered no
        ctx.expect(False, f"models answered {exchange.status}", expected=200,
                   actual=f"{exchange.status} {exchange.body[:200]!r}")
        return
    _same(ctx, "models", exchange, ctx.upstream_entry(exchange))
