"""errors.* — does every upstream error reach the client as the upstream sent it?"""

from __future__ import annotations

import json

import jsonschema

from ..core._fixtures import SCHEMAS_DIR
from ._context import CheckContext, json_or_none
from ._registry import Phase, check
from ._requirements import API_ERRORS, API_RATE_LIMITS, CLAUDE_CODE_GATEWAY, ERROR_ENVELOPE, ERRORS_UNMODIFIED
from ._shared import error_sweep
from ._verify import body_same, holds, same

SCHEMA = json.loads((SCHEMAS_DIR / "error-envelope.schema.json").read_text())


@check(id="errors.status-preserved", faults={"errors-to-500": "fail"},
       title="Does each upstream error status (400…529) reach the client unchanged?", requirement=ERRORS_UNMODIFIED,
       source=CLAUDE_CODE_GATEWAY, failure_example="upstream 529 reached the client as 500")
def status_preserved(ctx: CheckContext) -> None:
    for status, (exchange, entry) in error_sweep(ctx).items():
        upstream_status = entry.status if entry else status
        same(ctx, exchange.status, upstream_status,
             f"upstream {upstream_status} reached the client as {exchange.status}")


@check(id="errors.envelope-valid", faults={"wrap-errors": "fail"},
       title="Is every error body the Anthropic envelope {type:error, error:{type,message}, request_id}?",
       requirement=ERROR_ENVELOPE, source=API_ERRORS,
       evidence="the client's error bodies and the JSON Schema fixtures/schemas/error-envelope.schema.json",
       failure_example="upstream 429: body is not the envelope: 'None' is not one of … "
                       '({"error":{"message":"{\\"type…')
def envelope_valid(ctx: CheckContext) -> None:
    for status, (exchange, _) in error_sweep(ctx).items():
        body = json_or_none(exchange.body)
        try:
            jsonschema.validate(body, SCHEMA)
            problem = None
        except jsonschema.ValidationError as exc:
            problem = exc.message
        ctx.expect(
            problem is None, f"upstream {status}: body is not the envelope: {problem}", actual=exchange.body[:400]
        )


@check(id="errors.type-and-message-preserved", faults={"wrap-errors": "fail"},
       title="Are error.type and error.message the upstream's, word for word?", requirement=ERRORS_UNMODIFIED,
       source=CLAUDE_CODE_GATEWAY, failure_example="upstream 429: error.type 'None' != 'rate_limit_error'")
def type_preserved(ctx: CheckContext) -> None:
    for status, (exchange, entry) in error_sweep(ctx).items():
        if entry is None:
            ctx.expect(False, f"upstream {status}: the upstream received nothing")
            continue
        theirs = (json_or_none(entry.response_body) or {}).get("error", {})
        ours = json_or_none(exchange.body)
        ours = ours.get("error") if isinstance(ours, dict) else None
        ours = ours if isinstance(ours, dict) else {}
        same(ctx, ours.get("type"), theirs.get("type"),
             f"upstream {status}: error.type {ours.get('type')!r} != {theirs.get('type')!r}")
        same(ctx, ours.get("message"), theirs.get("message"), f"upstream {status}: error.message changed")


@check(id="errors.body-identical", faults={"reserialize-json": "pass-nonstrict"},
       title="Are error bodies byte-identical to the upstream's?", requirement=ERRORS_UNMODIFIED,
       source=CLAUDE_CODE_GATEWAY, level="should",
       failure_example="upstream 400: body bytes differ (JSON re-serialised)")
def body_identical(ctx: CheckContext) -> None:
    """Byte differences are the ``should``; an error answer that is not JSON at all (an HTML 502 page) is a
    ``must`` failure: no level grades a body that never arrived as a partial pass. Other JSON is the must-checks'
    business (errors.envelope-valid, errors.type-and-message-preserved)."""
    for status, (exchange, entry) in error_sweep(ctx).items():
        if entry is not None:
            if not holds(ctx, json_or_none(exchange.body) is not None, f"upstream {status}: the client got "
                         f"{exchange.status} with a body that is not JSON", entry.response_body[:300],
                         exchange.body[:300], level="must"):
                continue
            body_same(ctx, exchange.body, entry.response_body, f"upstream {status}: body bytes differ")


@check(id="errors.retry-headers-preserved",
       faults={"drop-response-header=x-should-retry": "fail", "drop-response-header=retry-after": "fail"},
       title="Do retry-after and x-should-retry reach the client as the upstream sent them?",
       requirement=f"{ERRORS_UNMODIFIED} — the SDKs read x-should-retry and retry-after to decide whether to retry.",
       source=API_RATE_LIMITS, failure_example="upstream 529: x-should-retry 'true' became None")
def retry_headers(ctx: CheckContext) -> None:
    for status, (exchange, entry) in error_sweep(ctx).items():
        if entry is None:
            continue
        for name in ("retry-after", "x-should-retry"):
            theirs = entry.response_headers.get_all(name)
            ours = exchange.header_all(name)
            same(ctx, ours, theirs,
                 f"upstream {status}: {name} {theirs[0] if theirs else None!r} became {ours[0] if ours else None!r}")


@check(id="errors.stream-request-gets-json", faults={"stream-errors-as-sse": "fail"},
       title="Does a stream:true request that fails before streaming get the upstream's JSON error, not SSE?",
       requirement="A stream:true request that fails validation returns a normal JSON error with a 4xx status.",
       source="shared/reference/anthropic-wire.md §0.5", features=("messages", "streaming"),
       failure_example="stream:true + upstream 429 reached the client as 200 text/event-stream")
def stream_request_json(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(stream=True, status=429), label="stream:true, upstream 429"))
    entry = ctx.upstream_entry(exchange)
    same(ctx, exchange.status, 429, f"answered {exchange.status}")
    holds(ctx, "application/json" in (exchange.header("content-type") or ""),
          f"content-type {exchange.header('content-type')!r}", "application/json", exchange.header("content-type"))
    if entry is not None:
        holds(ctx, json_or_none(exchange.body) == json_or_none(entry.response_body),
              "the error JSON differs from the upstream's", entry.response_body[:300], exchange.body[:300])


@check(id="errors.slow-response-not-cut", faults={"response-timeout=2": "fail"}, phase=Phase.CLOCK,
       title="Does a non-streaming answer that takes 16 s to start reach the client, not a gateway timeout?",
       requirement="Non-streaming Messages calls can legitimately take minutes (the SDKs' default timeout is 10 "
                   "minutes); a gateway's own timeout replaces the answer with its local reply.",
       source="shared/reference/envoy-setup.md §6",
       evidence="status, content-type and body of what the client got instead (e.g. Envoy's 504 local reply)",
       failure_example="16 s answer: 504 text/plain 'upstream request timeout' (a local reply, not the upstream's)")
def slow_response(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(delay=16), label="answer after 16 s", timeout=90))
    entry = ctx.upstream_entry(exchange)
    local = entry is not None and (exchange.status != entry.status or exchange.body != entry.response_body)
    ctx.note(
        "local_reply",
        {
            "status": exchange.status,
            "content-type": exchange.header("content-type"),
            "body": exchange.body[:300].decode(errors="replace"),
        }
        if local
        else None,
    )
    local_reply = " (a local reply, not the upstream's)" if local else ""
    same(ctx, exchange.status, 200, f"16 s answer: {exchange.status} {exchange.header('content-type')} "
         f"{exchange.body[:120].decode(errors='replace')!r}{local_reply}")
