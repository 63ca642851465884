"""request.* for bodies of the size agents send: megabytes of files and history, up to the API's 32 MB and past it."""

from __future__ import annotations

from ..core._digest import json_sha256, sha256_hex
from ..core._http import Exchange
from ._context import CheckContext, json_or_none
from ._payloads import MIB, sized_body
from ._registry import Phase, check
from ._requirements import API_ERRORS, CLAUDE_CODE_GATEWAY
from ._verify import holds

# A long session with a document attached, and one just under the API's limit (32 MB, whether counted in 10^6 or
# 2^20 bytes); past the limit by a margin either way.
LARGE_SIZES = (5 * MIB, 29 * MIB)
OVERSIZE = 34 * MIB
SIZE_LIMIT = ("The API accepts request bodies up to 32 MB and answers 413 request_too_large above; Claude Code sends "
              "multi-megabyte bodies (files, images, PDFs, long sessions) and shows a 413 as 'Request too large'.")


def _mb(data: bytes) -> str:
    return f"{len(data) / 1e6:.1f} MB"


def _send_sized(ctx: CheckContext, size: int) -> Exchange:
    ctx.require_journal()  # judged by what arrived; against the live API it would cost a fortune too
    body, content = sized_body(ctx, size)
    exchange = ctx.send(body, content=content, label=f"{_mb(content)} body", timeout=180)
    if exchange.status is None and "Connect" in (exchange.error or ""):
        ctx.reached(exchange)  # the path is gone altogether: error, not this check's finding
    return exchange


@check(id="request.large-bodies-intact", faults={"max-body=1048576": "fail"}, phase=Phase.SLOW,
       title="Do request bodies of 5 MB and 30 MB (a PDF as base64 after a long history) reach the upstream intact "
             "and get answered?",
       requirement=SIZE_LIMIT + " A path that refuses, resets or alters a body below that limit breaks long sessions "
                   "(nginx's default client_max_body_size is 1 MB).",
       source=API_ERRORS,
       evidence="per body: its size, the status, and the length and digests the upstream received against those sent",
       failure_example="5.2 MB body answered 413 text/html (the API accepts up to 32 MB)")
def large_bodies_intact(ctx: CheckContext) -> None:
    for size in LARGE_SIZES:
        exchange = _send_sized(ctx, size)
        what = f"{_mb(exchange.request_body)} body"
        served = exchange.status == 200
        holds(ctx, served, f"{what} answered {exchange.status or exchange.error} "
              f"{exchange.header('content-type') or ''} (the API accepts up to 32 MB)".replace("  ", " "), 200,
              exchange.status or exchange.error)
        entry = ctx.upstream_entry(exchange) if served else None
        if entry is None:
            continue
        ctx.note(f"received_{size // MIB}mib", {"bytes": entry.body_length, "sha256": entry.body_sha256[:16]})
        sent = len(exchange.request_body)
        holds(ctx, entry.body_json_digest() == json_sha256(exchange.request_body),
              f"{what}: the upstream received other JSON ({entry.body_length} bytes, sent {sent})", sent,
              entry.body_length)
        holds(ctx, entry.body_sha256 == sha256_hex(exchange.request_body),
              f"{what}: not byte for byte upstream ({entry.body_length} bytes, sent {sent})", sent, entry.body_length,
              level="should")


@check(id="request.oversize-answered-by-api", faults={"max-body=1048576": "fail"}, phase=Phase.SLOW,
       title="Does a body over the API's 32 MB limit get the API's own 413 request_too_large, intact?",
       requirement=SIZE_LIMIT + " The error reaches the client in the API's shape, so the SDKs raise "
                   "RequestTooLargeError and Claude Code can say what happened.",
       source=CLAUDE_CODE_GATEWAY,
       evidence="the body's size, the status and body the client got, and what the upstream answered",
       failure_example="35.7 MB body: 413 text/html '<html><head><title>413 Request Entity Too Large…' (not "
                       "the API's error)")
def oversize_answered_by_api(ctx: CheckContext) -> None:
    exchange = _send_sized(ctx, OVERSIZE)
    what = f"{_mb(exchange.request_body)} body"
    error = (json_or_none(exchange.body) or {}).get("error") if exchange.status else None
    kind = error.get("type") if isinstance(error, dict) else None
    holds(ctx, exchange.status == 413 and kind == "request_too_large",
          f"{what}: {exchange.status or exchange.error} {exchange.header('content-type') or ''} "
          f"{exchange.body[:60].decode(errors='replace')!r} (not the API's error)", "413 request_too_large",
          f"{exchange.status} {kind}")
    entry = ctx.upstream_entry(exchange)
    if entry is not None:
        holds(ctx, exchange.body == entry.response_body, f"{what}: the 413 differs from the upstream's",
              entry.response_body[:200], exchange.body[:200], level="should")
