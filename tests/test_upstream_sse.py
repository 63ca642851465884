"""
SSE bytes, grammar, pacing and mid-stream faults of the reference upstream (reference doc §4).
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from conformance.core._sse import PING_DATA, decode_events, decode_timed, event_names

from ._helpers import api_headers, message_body, new_cid, post

PADDED = re.compile(rb"^data: \{.*\}$")


def _stream(upstream, encoding="identity", **directive):
    """The raw stream as sent; uncompressed unless ``encoding`` asks (these tests read the framing on the wire)."""
    chunks: list[tuple[float, bytes]] = []
    with httpx.Client(timeout=60) as client:
        with client.stream(
            "POST",
            upstream.base_url + "/v1/messages",
            json=message_body(stream=True, **directive),
            headers=api_headers(**{"accept-encoding": encoding}),
        ) as response:
            for chunk in response.iter_raw():
                chunks.append((time.time(), chunk))
    return response, chunks


def test_stream_bytes_follow_the_api_framing(upstream):
    """
    Events are `event: X\\ndata: {json}\\n\\n`, LF only, padded before the last brace, ping exact, body ends in \\n\\n.
    """
    response, chunks = _stream(upstream, cid=new_cid(), deltas=20)
    body = b"".join(c for _, c in chunks)
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert b"\r" not in body and body.endswith(b"\n\n")
    events = decode_events(body)
    for event in events:
        lines = event.raw.split(b"\n")
        assert lines[0] == f"event: {event.name}".encode() and lines[2:] == [b"", b""]
        assert PADDED.match(lines[1])
        payload = lines[1][len(b"data: ") :]
        if event.name == "ping":
            assert payload == PING_DATA
        else:
            assert re.search(rb"[^ ] {0,15}\}$", payload)
    assert any(re.search(rb"[^ ] {1,15}\}$", e.raw.split(b"\n")[1]) for e in events), "no event was padded"
    names = event_names(events)
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]


def test_stream_usage_in_start_and_cumulative_in_delta(upstream):
    """
    message_start carries input usage with output_tokens 1; message_delta carries the cumulative usage.
    """
    _, chunks = _stream(upstream, deltas=5)
    events = {
        e.name: e.json() for e in decode_events(b"".join(c for _, c in chunks)) if e.name != "content_block_delta"
    }
    start = events["message_start"]["message"]["usage"]
    delta = events["message_delta"]["usage"]
    assert start["output_tokens"] == 1 and delta["output_tokens"] == 5
    assert delta["input_tokens"] == start["input_tokens"]


def test_one_event_per_chunk_as_sent(upstream):
    """
    Each event goes out in its own chunk, and the journal holds the same bytes with send times.
    """
    cid = new_cid()
    _, chunks = _stream(upstream, cid=cid, deltas=4, interval=30)
    entry = upstream.journal.last(cid)
    assert b"".join(c for _, c in entry.chunks) == b"".join(c for _, c in chunks)
    assert len(entry.chunks) == len(decode_events(entry.response_body))
    times = [at for at, _ in entry.chunks]
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))


def test_interval_paces_events(upstream):
    """
    interval=MS spaces every event by about MS milliseconds on the client side.
    """
    _, chunks = _stream(upstream, deltas=5, interval=50)
    events = decode_timed(chunks)
    spread = events[-1].arrived_at - events[0].arrived_at
    assert spread >= 0.05 * (len(events) - 1) * 0.9


def test_gap_makes_a_silent_pause(upstream):
    """
    gap=S leaves S seconds of silence after the first content delta.
    """
    _, chunks = _stream(upstream, deltas=3, gap=1)
    events = decode_timed(chunks)
    names = [e.name for e in events]
    first = names.index("content_block_delta")
    assert events[first + 1].arrived_at - events[first].arrived_at >= 0.95


def test_midstream_error_event_ends_the_stream(upstream):
    """
    midstream=TYPE sends `event: error` after the first delta and ends the 200 stream there.
    """
    response, chunks = _stream(upstream, midstream="overloaded_error")
    events = decode_events(b"".join(c for _, c in chunks))
    assert response.status_code == 200
    assert events[-1].name == "error"
    error = events[-1].json()
    assert error["error"]["type"] == "overloaded_error"
    assert error["request_id"] == response.headers["request-id"]
    assert "message_stop" not in event_names(events)


def test_cut_closes_the_connection_mid_stream(upstream):
    """
    cut=1 drops the connection without a terminating chunk; the client sees a broken stream.
    """
    cid = new_cid()
    with pytest.raises(httpx.HTTPError):
        _stream(upstream, cid=cid, cut=1)
    assert upstream.journal.last(cid).completed is False


def test_max_tokens_cuts_the_answer(upstream):
    """
    A small max_tokens stops the answer with stop_reason max_tokens.
    """
    body = message_body(deltas=10)
    body["max_tokens"] = 2
    response = post(upstream.base_url, body)
    assert response.json()["stop_reason"] == "max_tokens"
    assert response.json()["usage"]["output_tokens"] == 2


def test_gzip_switch_compresses_streams_incrementally():
    """
    With gzip on and a client that accepts it, the stream is gzip and each event is flushed as it is sent.
    """
    from conformance.upstream import ReferenceUpstream, UpstreamConfig

    with ReferenceUpstream(UpstreamConfig(gzip=True)) as upstream:
        response, chunks = _stream(upstream, "gzip, deflate", deltas=4, interval=20)
        assert response.headers["content-encoding"] == "gzip"
        assert len(chunks) >= 5
        import zlib

        body = zlib.decompress(b"".join(c for _, c in chunks), wbits=31)
        assert event_names(decode_events(body))[-1] == "message_stop"
        plain = post(upstream.base_url, message_body(), api_headers(**{"accept-encoding": "identity"}))
        assert "content-encoding" not in plain.headers
