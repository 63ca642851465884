"""request_id.* — can the client still name the upstream request (header and error body)?"""

from __future__ import annotations

from ._context import CheckContext, json_or_none
from ._registry import check
from ._requirements import API_ERRORS, REQUEST_ID
from ._shared import error_sweep
from ._verify import same


@check(id="request_id.header-equal", faults={"drop-response-header=request-id": "fail"},
       title="Does the client get a request-id header equal to the upstream's, on success and on errors?",
       requirement=REQUEST_ID, source=API_ERRORS, failure_example="200: request-id None, upstream sent req_011C…")
def header_equal(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(), label="200"))
    pairs = [("200", exchange, ctx.upstream_entry(exchange))]
    pairs += [(str(status), ex, entry) for status, (ex, entry) in error_sweep(ctx).items()]
    for label, ex, entry in pairs:
        if entry is None:
            continue
        theirs = entry.response_headers.get_all("request-id")
        ours = ex.header_all("request-id")
        same(ctx, ours, theirs,
             f"{label}: request-id {ours[0] if ours else None}, upstream sent {theirs[0] if theirs else None}")
    carriers = sorted({k for k, v in exchange.headers if pairs[0][2] and v == pairs[0][2].request_id})
    ctx.note("headers carrying the upstream request id", carriers)


@check(id="request_id.body-equal", faults={"wrap-errors": "fail"},
       title="Does each error body carry the upstream's request_id?", requirement=REQUEST_ID, source=API_ERRORS,
       failure_example="429: body request_id None, upstream sent req_011C…")
def body_equal(ctx: CheckContext) -> None:
    for status, (exchange, entry) in error_sweep(ctx).items():
        if entry is None:
            continue
        theirs = (json_or_none(entry.response_body) or {}).get("request_id")
        ours = json_or_none(exchange.body)
        ours = ours.get("request_id") if isinstance(ours, dict) else None
        same(ctx, ours, theirs, f"{status}: body request_id {ours}, upstream sent {theirs}")
