"""endpoints.* — are the other endpoints Claude Code calls reachable through the path, and unchanged?"""

from __future__ import annotations

import json

from ._context import CheckContext
from ._registry import check
from ._requirements import CLAUDE_CODE_GATEWAY, WIRE_DOC
from ._verify import answered, holds


def _same(ctx: CheckContext, label: str, exchange, entry) -> None:  # type: ignore[no-untyped-def]
    # An endpoint the path does not serve (404/405) is the check's own question, graded at its level; any other
    # failure (a 5xx, an HTML error page) is the path failing the request, which no level grades as a partial pass.
    not_served = exchange.status in (404, 405)
    answered(ctx, exchange, f"{label} answered {exchange.status}", level=None if not_served else "must")
    if entry is None:
        return
    try:
        equal = json.loads(exchange.body) == json.loads(entry.response_body)
    except ValueError:
        equal = False
    holds(ctx, equal, f"{label}: the body differs from the upstream's", entry.response_body[:300], exchange.body[:300])


@check(id="endpoints.count-tokens", faults={"block-path=/v1/messages/count_tokens": "fail"},
       title="Is POST /v1/messages/count_tokens reachable and its answer the upstream's?",
       requirement="A gateway for Claude Code accepts POST /v1/messages (plus /v1/messages/count_tokens).",
       source=CLAUDE_CODE_GATEWAY, features=("count_tokens",), failure_example="count_tokens answered 404")
def count_tokens(ctx: CheckContext) -> None:
    body = ctx.body()
    del body["max_tokens"]
    exchange = ctx.reached(ctx.send(body, path="/v1/messages/count_tokens"))
    _same(ctx, "count_tokens", exchange, ctx.upstream_entry(exchange))


@check(id="endpoints.models", faults={"block-path=/v1/models": "pass-nonstrict"},
       title="Is GET /v1/models reachable and its answer the upstream's?",
       requirement="Claude Code queries the gateway's /v1/models.", source=f"{WIRE_DOC} §8; {CLAUDE_CODE_GATEWAY}",
       level="should", features=("models",), failure_example="models answered 404")
def models(ctx: CheckContext) -> None:
    cid = ctx.new_cid()
    exchange = ctx.reached(ctx.send(None, method="GET", path=f"/v1/models?ec_cid={cid}", headers=[("x-ec-cid", cid)]))
    exchange.cid = cid
    if exchange.status in (404, 405):  # not served by the path: the question this should-check asks, answered no
        answered(ctx, exchange, f"models answered {exchange.status}")
        return
    _same(ctx, "models", exchange, ctx.upstream_entry(exchange))


FILES_BETA = "files-api-2025-04-14"
BOUNDARY = "egress-conformance-0123456789"
# An upload whose bytes are not text: every byte value, CR LF inside, a part of the boundary's shape.
UPLOAD = bytes(range(256)) * 64 + b"\r\n--egress-conformance-not-the-boundary\r\n" + bytes(range(255, -1, -1)) * 64


def _served(ctx: CheckContext, label: str, exchange) -> bool:  # type: ignore[no-untyped-def]
    """Whether the path served ``label``. One it answers itself with a 4xx, the upstream receiving nothing (a 404,
    or a route of its own that wants other fields), is not served: this should-check's answer, no."""
    if 400 <= (exchange.status or 0) < 500 and not ctx.upstream_entries(exchange):
        answered(ctx, exchange, f"{label} answered {exchange.status} by the path itself (the upstream received "
                 "nothing)")
        return False
    return answered(ctx, exchange, f"{label} answered {exchange.status}", level="must")


def _resource(ctx: CheckContext, method: str, path: str, *, content: bytes | None = None,
              headers: list[tuple[str, str]] | None = None):  # type: ignore[no-untyped-def]
    cid = ctx.new_cid()
    exchange = ctx.reached(ctx.send(None, method=method, path=f"{path}{'&' if '?' in path else '?'}ec_cid={cid}",
                                    content=content, headers=[("x-ec-cid", cid), *(headers or [])],
                                    label=f"{method} {path}"))
    exchange.cid = cid
    return exchange


@check(id="endpoints.files-roundtrip", faults={"text-body": "fail", "block-path=/v1/files": "pass-nonstrict"},
       title="Does the Files API work through the path: a binary upload arriving byte for byte, then get, list and "
             "delete answered as the upstream answered?",
       requirement="The path passes every endpoint of the API unchanged, multipart uploads byte for byte; an agent "
                   "attaching a file (a PDF, an image) uploads it once and refers to it by id.",
       source=f"{WIRE_DOC} §8", level="should",
       evidence="the upload's size and digest as sent and as received upstream, and each call's status and body",
       failure_example="upload: the upstream received other bytes (32812 bytes, sent 32814)")
def files_roundtrip(ctx: CheckContext) -> None:
    content = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.bin\"\r\n"
               f"Content-Type: application/octet-stream\r\n\r\n").encode() + UPLOAD + f"\r\n--{BOUNDARY}--\r\n".encode()
    beta = [("anthropic-beta", FILES_BETA)]
    upload = _resource(ctx, "POST", "/v1/files", content=content,
                       headers=[("content-type", f"multipart/form-data; boundary={BOUNDARY}"), *beta])
    if not _served(ctx, "upload", upload):
        return
    entry = ctx.upstream_entry(upload)
    if entry is not None:
        holds(ctx, entry.body == content, f"upload: the upstream received other bytes ({entry.body_length} bytes, "
              f"sent {len(content)})", len(content), entry.body_length, level="must")
        _same(ctx, "upload", upload, entry)
    file_id = (upload.json_or_none() or {}).get("id")
    if not ctx.expect(isinstance(file_id, str), "upload: no file id in the answer", actual=upload.body[:200]):
        return
    for method, path, label in (("GET", f"/v1/files/{file_id}", "get"), ("GET", "/v1/files", "list"),
                                ("DELETE", f"/v1/files/{file_id}", "delete")):
        exchange = _resource(ctx, method, path, headers=beta)
        if _served(ctx, label, exchange):
            _same(ctx, label, exchange, ctx.upstream_entry(exchange))


@check(id="endpoints.batches-roundtrip", faults={"block-path=/v1/messages/batches": "pass-nonstrict"},
       title="Do Message Batches work through the path: create, poll until ended, results as the upstream's JSONL?",
       requirement="The path passes every endpoint of the API unchanged; batch results stream as JSONL (Accept: "
                   "application/binary).",
       source=f"{WIRE_DOC} §8", level="should",
       evidence="each call's status and body, the results' lines against the upstream's",
       failure_example="create answered 404")
def batches_roundtrip(ctx: CheckContext) -> None:
    requests = [{"custom_id": f"item-{i}", "params": {"model": ctx.run.model, "max_tokens": 32,
                                                      "messages": [{"role": "user", "content": f"Item {i}."}]}}
                for i in range(2)]
    created = _resource(ctx, "POST", "/v1/messages/batches", content=json.dumps({"requests": requests}).encode())
    if not _served(ctx, "create", created):
        return
    _same(ctx, "create", created, ctx.upstream_entry(created))
    batch_id = (created.json_or_none() or {}).get("id")
    if not ctx.expect(isinstance(batch_id, str), "create: no batch id in the answer", actual=created.body[:200]):
        return
    polled = _resource(ctx, "GET", f"/v1/messages/batches/{batch_id}")
    if not _served(ctx, "poll", polled):
        return
    _same(ctx, "poll", polled, ctx.upstream_entry(polled))
    results = _resource(ctx, "GET", f"/v1/messages/batches/{batch_id}/results",
                        headers=[("accept", "application/binary")])
    if not _served(ctx, "results", results):
        return
    entry = ctx.upstream_entry(results)
    if entry is not None:
        ours = [json.loads(line) for line in results.body.splitlines() if line.strip()]
        theirs = [json.loads(line) for line in entry.response_body.splitlines() if line.strip()]
        holds(ctx, ours == theirs and len(ours) == len(requests), f"results: {len(ours)} lines, the upstream sent "
              f"{len(theirs)}" + ("" if ours == theirs else " (they differ)"), len(theirs), len(ours), level="must")
