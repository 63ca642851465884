"""sse.* — does a stream reach the client as the upstream sent it: same events, same bytes, same timing?"""

from __future__ import annotations

import re

from ..core._http import Exchange
from ..core._sse import PING_DATA, SseEvent, decode_events, decode_timed, event_names
from ..upstream import JournalEntry
from ._context import CheckContext, CheckEnded
from ._registry import Phase, check
from ._requirements import API_STREAMING, CLAUDE_CODE_GATEWAY, SSE_FRAMING, STREAM_AS_ARRIVED, WIRE_DOC
from ._verify import answered, holds, same

FEATURES = ("messages", "streaming")


def _stream(ctx: CheckContext, key: str, **directive: object) -> tuple[Exchange, JournalEntry | None]:
    def make() -> tuple[Exchange, JournalEntry | None]:
        exchange = ctx.reached(ctx.send(ctx.body(stream=True, **directive), label=f"stream {key}"))
        entries = ctx.upstream_entries(exchange)
        return exchange, entries[-1] if entries else None

    return ctx.shared(f"sse.{key}", make)


# In --upstream=replay the plain stream is a real recorded one, served byte for byte (padding, ping and all).
REPLAYED_STREAM = "llm-anthropic__sse_text_2026-02"


def _plain(ctx: CheckContext) -> tuple[Exchange, JournalEntry | None]:
    if ctx.run.observer.mode == "replay":
        return _stream(ctx, "plain", replay=REPLAYED_STREAM)
    # Padding never 0: with the API's 0-15 a re-serialised event matched the upstream by chance one time in 16.
    return _stream(ctx, "plain", deltas=12, padding="nonzero")


def _upstream_events(entry: JournalEntry) -> list[SseEvent]:
    return decode_timed(entry.decoded_chunks)


def _answered(ctx: CheckContext, stream: tuple[Exchange, JournalEntry | None]) -> tuple[Exchange, JournalEntry]:
    """The stream and what the upstream sent for it. A stream not answered 200, or one the upstream never saw (the
    path answered it itself), ends the check on a ``must`` finding: a ``should`` check has nothing to grade."""
    exchange, entry = stream
    if not answered(ctx, exchange, f"the stream was answered {exchange.status}", level="must"):
        raise CheckEnded("the stream was not answered")
    return exchange, entry or ctx.received(exchange, level="must")


@check(id="sse.content-type", faults={"sse-content-type": "fail"},
       title="Is the stream's content-type the upstream's text/event-stream?", requirement=SSE_FRAMING,
       source=API_STREAMING, features=FEATURES,
       failure_example="content-type 'application/json' (upstream: 'text/event-stream; charset=utf-8')")
def content_type(ctx: CheckContext) -> None:
    exchange, entry = _answered(ctx, _plain(ctx))
    theirs = entry.response_headers.get_all("content-type")
    holds(ctx, "text/event-stream" in (exchange.header("content-type") or ""),
          f"content-type {exchange.header('content-type')!r} (upstream: {theirs[0] if theirs else None!r})", theirs,
          exchange.header("content-type"))
    same(ctx, exchange.header_all("content-type"), theirs, "content-type parameters changed", level="should")


@check(id="sse.event-sequence", faults={"drop-pings": "fail"},
       title="Does the client get the same event names in the same order as the upstream sent?",
       requirement=SSE_FRAMING, source=API_STREAMING, features=FEATURES,
       failure_example="event names differ at position 2: 'content_block_delta' != 'ping'")
def event_sequence(ctx: CheckContext) -> None:
    exchange, entry = _answered(ctx, _plain(ctx))
    ours = event_names(decode_events(exchange.body))
    theirs = event_names(decode_events(entry.response_body))
    position = next(
        (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs))
    )
    mine, upstream = (names[position] if position < len(names) else None for names in (ours, theirs))
    same(ctx, ours, theirs, f"event names differ at position {position}: {mine!r} != {upstream!r}")


@check(id="sse.data-json-equal", faults={"mutate-text": "fail"},
       title="Is every event's data payload JSON-equal to the upstream's?", requirement=STREAM_AS_ARRIVED,
       source=CLAUDE_CODE_GATEWAY, features=FEATURES, failure_example="event 0 (message_start): data differs")
def data_json_equal(ctx: CheckContext) -> None:
    exchange, entry = _answered(ctx, _plain(ctx))
    ours = [e for e in decode_events(exchange.body) if e.data]
    theirs = [e for e in decode_events(entry.response_body) if e.data]
    same(ctx, len(ours), len(theirs), f"{len(ours)} data events, upstream sent {len(theirs)}")
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        try:
            equal = a.json() == b.json()
        except ValueError:
            equal = False
        if not equal:
            holds(ctx, False, f"event {index} ({b.name}): data differs", b.data[:300], a.data[:300])
            return
    ctx.expect(True, "every data payload is JSON-equal")


@check(id="sse.bytes-identical", faults={"reserialize-sse": "pass-nonstrict"},
       title="Are the stream's bytes identical to what the upstream sent (framing, padding, key order)?",
       requirement=STREAM_AS_ARRIVED, source=CLAUDE_CODE_GATEWAY, level="should", features=FEATURES,
       failure_example="stream bytes differ from byte 213 (JSON re-serialised)")
def bytes_identical(ctx: CheckContext) -> None:
    exchange, entry = _answered(ctx, _plain(ctx))
    ours, theirs = exchange.body, entry.response_body
    at = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs)))
    holds(ctx, ours == theirs, f"stream bytes differ from byte {at}", theirs[at : at + 120], ours[at : at + 120])


_PADDING = re.compile(rb"( *)\}\n?$")


@check(id="sse.padding-and-ping", faults={"reserialize-sse": "pass-nonstrict", "drop-pings": "pass-nonstrict"},
       title="Are the API's whitespace padding and its exact ping event kept?",
       requirement='ping is always exactly data: {"type": "ping"}; other data JSON is padded with 0-15 spaces.',
       source=f"{WIRE_DOC} §4.2", level="should", features=FEATURES,
       failure_example="2 pings upstream, 0 reached the client; padding changed on 14 of 18 events")
def padding_and_ping(ctx: CheckContext) -> None:
    exchange, entry = _answered(ctx, _plain(ctx))
    ours = decode_events(exchange.body)
    theirs = decode_events(entry.response_body)
    our_pings = [e for e in ours if e.name == "ping"]
    their_pings = [e for e in theirs if e.name == "ping"]
    holds(ctx, len(our_pings) == len(their_pings) and all(e.data.encode() == PING_DATA for e in our_pings),
          f"{len(their_pings)} pings upstream, {len(our_pings)} reached the client as sent",
          [e.data for e in their_pings], [e.data for e in our_pings])
    pad = [_pad(e) for e in ours if e.name != "ping"]
    their_pad = [_pad(e) for e in theirs if e.name != "ping"]
    changed = sum(a != b for a, b in zip(pad, their_pad, strict=False)) + abs(len(pad) - len(their_pad))
    holds(ctx, changed == 0, f"padding changed on {changed} of {len(their_pad)} events", their_pad, pad)


def _pad(event: SseEvent) -> int:
    match = _PADDING.search(event.data.encode())
    return len(match.group(1)) if match else -1


def _complete(ctx: CheckContext, stream: tuple[Exchange, JournalEntry | None], what: str) -> None:
    exchange, _ = _answered(ctx, stream)
    names = event_names(decode_events(exchange.body))
    ctx.expect(exchange.error is None, f"{what}: the client's stream broke: {exchange.error}", actual=exchange.error)
    holds(ctx, names[-1:] == ["message_stop"],
          f"{what}: the stream ended with {names[-1:] or 'nothing'}, not message_stop", "message_stop", names[-3:])
    ctx.note("stream_seconds", round((exchange.chunks[-1][0] - exchange.sent_at) if exchange.chunks else 0, 2))


@check(id="sse.long-stream-not-cut", faults={"cut-after=2": "fail"}, phase=Phase.CLOCK,
       title="Does a stream that lasts longer than 15 s reach its end?",
       requirement=STREAM_AS_ARRIVED + " (Envoy's default route timeout is 15 s.)", source=CLAUDE_CODE_GATEWAY,
       features=FEATURES,
       failure_example="16 s stream: the stream ended with ['content_block_delta'], not message_stop")
def long_stream(ctx: CheckContext) -> None:
    _complete(ctx, _stream(ctx, "long", deltas=20, duration=16), "16 s stream")


@check(id="sse.idle-gap-survives", faults={"idle-timeout=2": "fail"}, phase=Phase.CLOCK,
       title="Does a stream survive a silent gap of several seconds between events?", requirement=STREAM_AS_ARRIVED,
       source=CLAUDE_CODE_GATEWAY, features=FEATURES,
       failure_example="6 s gap: the client's stream broke: RemoteProtocolError")
def idle_gap(ctx: CheckContext) -> None:
    _complete(ctx, _stream(ctx, "gap", deltas=4, gap=6), "6 s gap")


@check(id="sse.midstream-error-delivered", faults={"drop-sse-errors": "fail"},
       title="Is an `event: error` sent after the 200 delivered to the client as the upstream sent it?",
       requirement="Errors after the 200 arrive as event: error; the SDK raises it immediately.", source=API_STREAMING,
       features=FEATURES, failure_example="the last event is 'content_block_delta', not 'error'")
def midstream_error(ctx: CheckContext) -> None:
    exchange, entry = _answered(ctx, _stream(ctx, "midstream", deltas=5, midstream="overloaded_error", after=2))
    ours = [e for e in decode_events(exchange.body) if e.name]
    theirs = [e for e in decode_events(entry.response_body) if e.name]
    holds(ctx, bool(ours) and ours[-1].name == "error",
          f"the last event is {ours[-1].name if ours else None!r}, not 'error'", "error", [e.name for e in ours[-3:]])
    if ours and theirs and ours[-1].name == "error":
        holds(ctx, ours[-1].json() == theirs[-1].json(), "the error event's data differs", theirs[-1].data,
              ours[-1].data)
