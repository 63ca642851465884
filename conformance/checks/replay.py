"""replay.* — real API traffic sent through the path: does every recorded exchange come back as it was recorded?

The recordings are the project's (``fixtures/recordings/``) or the user's own (``--recordings DIR``). Each recorded
request goes through the path with a directive that makes the reference upstream answer with the recorded response,
byte for byte; what the client receives is then compared with the recording.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from ..core._cassettes import Recording, load, load_directory, names
from ..core._http import Exchange
from ..core._sse import decode_events
from ..core._wire import BETA_HEADER, VERSION_HEADER
from ..upstream import CID_HEADER, REPLAY_HEADER, make_directive
from ._context import CheckContext, json_or_none
from ._registry import Phase, check
from ._requirements import FORWARD_UNCHANGED, WIRE_DOC
from ._verify import holds

# The response headers a client acts on: its request id, retry advice, rate-limit state, the body's type.
MATTERING = ("request-id", "content-type", "retry-after", "x-should-retry", "anthropic-organization-id")
RATELIMIT_PREFIX = "anthropic-ratelimit-"
SHOWN = 3
"""Exchanges (with their first two differences) named in the message; the evidence keeps every difference."""


def recordings(ctx: CheckContext) -> tuple[Recording, ...]:
    """The user's recordings (``--recordings``) or, by default, the project's."""
    if ctx.run.recordings is not None:
        return load_directory(ctx.run.recordings)
    return tuple(r for name in names() for r in load(name))


# What a recorded request is sent with besides its body: the recorded version and betas (the run's credential
# replaces the recorded one) and, for a body that is not JSON, its content type (a multipart upload).
_KEPT = (BETA_HEADER, VERSION_HEADER, "content-type")


def _request(ctx: CheckContext, rec: Recording) -> tuple[Any, bytes | None, str, list[tuple[str, str]]]:
    """The recorded request as it will be sent: a Messages body with the replay directive in its last user message,
    or (a GET, a file upload, a batch) the recorded body as it is with the directive in a header and the query;
    then the path and the headers kept from the recording."""
    recorded = {k.lower(): v for k, v in rec.request_headers.items()}
    headers = [(name, ",".join(recorded[name]) if name == BETA_HEADER else recorded[name][0])
               for name in _KEPT if recorded.get(name)]
    cid = ctx.new_cid()
    body = json_or_none(rec.request_body)
    messages = body.get("messages") if isinstance(body, dict) else None
    last = next((m for m in reversed(messages or []) if isinstance(m, dict) and m.get("role") == "user"), None)
    directive = make_directive(cid=cid, replay=rec.spec)
    if last is not None and isinstance(last.get("content"), str):
        last["content"] += " " + directive
        return body, None, rec.target, headers
    if last is not None and isinstance(last.get("content"), list):
        last["content"].append({"type": "text", "text": directive})
        return body, None, rec.target, headers
    query = urlencode({"ec_cid": cid, "ec_replay": rec.spec})
    target = rec.target + ("&" if "?" in rec.target else "?") + query
    return None, rec.request_body, target, [*headers, (CID_HEADER, cid), (REPLAY_HEADER, rec.spec)]


def _sendable(rec: Recording) -> str | None:
    """Why a recorded request cannot go through the path, or None: it went to another host than the API."""
    host = urlsplit(rec.uri).hostname
    return None if host in (None, "", "api.anthropic.com") else f"recorded for {host}"


def _header_differences(rec: Recording, exchange: Exchange) -> list[str]:
    found, limits_missing = [], 0
    for name in dict.fromkeys(k.lower() for k, _ in rec.headers):
        if name in MATTERING or name.startswith(RATELIMIT_PREFIX):
            theirs, ours = rec.headers.get_all(name), exchange.header_all(name)
            if theirs == ours:
                continue
            if name.startswith(RATELIMIT_PREFIX) and not ours:
                limits_missing += 1  # one line for the family: a path drops them all or none
            else:
                found.append(f"{name} {ours or 'missing'} (recorded {theirs})")
    if limits_missing:
        found.append(f"{limits_missing} {RATELIMIT_PREFIX}* headers missing")
    return found


def _same_content(rec: Recording, received: bytes) -> bool:
    """Equal as the client parses it: the same events with equal JSON, or equal JSON; bytes may differ."""
    if rec.is_sse:
        def events(data: bytes) -> list[tuple[str | None, Any]]:
            return [(e.name, json_or_none(e.data.encode())) for e in decode_events(data) if e.data]
        return events(rec.decoded_body) == events(received)
    recorded = json_or_none(rec.decoded_body)
    return recorded is not None and recorded == json_or_none(received)


@check(id="replay.recorded-exchanges", faults={"errors-to-500": "fail"}, phase=Phase.SLOW,
       title="Sent through the path, does every recorded API exchange come back as recorded (status, the headers a "
             "client acts on, body bytes, SSE events)?",
       requirement=FORWARD_UNCHANGED,
       source=WIRE_DOC + " §9; recordings from public test suites (fixtures/recordings/SOURCES.md) or --recordings DIR",
       evidence="per recorded exchange: status, header and body differences",
       failure_example="3 of 51 recorded exchanges differ: otel-contrib__errors…:2: status 500 (recorded 404) | …",
       bound_s=180.0)
def recorded_exchanges(ctx: CheckContext) -> None:
    differing: list[str] = []
    reworded: list[str] = []
    not_sent: list[str] = []
    sent = 0
    for rec in recordings(ctx):
        if rec.target.startswith("/v1/messages/count_tokens") and "count_tokens" not in ctx.path.features:
            continue
        reason = _sendable(rec)
        if reason is not None:
            not_sent.append(f"{rec.spec}: {reason}")
            continue
        body, content, target, headers = _request(ctx, rec)
        recorded_version = any(name == VERSION_HEADER for name, _ in headers)
        exchange = ctx.reached(ctx.send(body, content=content, method=rec.method, path=target, headers=headers,
                                        label=rec.spec, version=not recorded_version))
        sent += 1
        problems = [] if exchange.status == rec.status else [f"status {exchange.status} (recorded {rec.status})"]
        problems += _header_differences(rec, exchange)
        if exchange.body != rec.decoded_body:
            if _same_content(rec, exchange.body):
                reworded.append(rec.spec)
            else:
                problems.append(f"body differs: {exchange.body[:80]!r}")
        if problems:
            differing.append(f"{rec.spec}: " + "; ".join(problems))
    ctx.note("recorded_exchanges_sent", sent)
    ctx.note("differences", differing)
    if not_sent:  # said in the verdict's findings, not only in a note: a report reader sees what was not tried
        ctx.note("recorded_exchanges_not_sent", not_sent)
        ctx.expect(True, f"{len(not_sent)} recorded exchange(s) not sent: {'; '.join(not_sent[:SHOWN])}")
    shown = " | ".join("; ".join(d.split("; ")[:2]) for d in differing[:SHOWN]) + (" | …" if len(differing) > SHOWN
                                                                                   else "")
    ctx.expect(sent > 0, "no recorded exchange could be sent through the path", actual=sent)
    holds(ctx, not differing, f"{len(differing)} of {sent} recorded exchanges differ: {shown}", "as recorded",
          differing[:SHOWN])
    # The same JSON in other bytes breaks no parser, but it is no longer the recorded answer.
    holds(ctx, not reworded, f"{len(reworded)} of {sent} exchanges came back as the same JSON in other bytes: "
          f"{', '.join(reworded[:SHOWN])}", "recorded bytes", reworded, level="should")
