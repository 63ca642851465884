"""
The SSE codec on raw bytes, JSON shapes, and credential redaction.
"""

from __future__ import annotations

from conformance.core._redact import redact, redact_headers, register_secret
from conformance.core._sse import SseDecoder, decode_events, encode_event

OAUTH = "sk-ant-oat01-SENTINELoauthTOKEN0123456789abcdefABCDEF_-xyz"
API = "sk-ant-api03-SENTINELapiKEY0123456789abcdefABCDEF_-xyz"


def test_encode_matches_the_api_bytes():
    """
    encode_event pads before the last brace and writes ping exactly as the API does.
    """
    assert encode_event("content_block_stop", {"type": "content_block_stop", "index": 0}, 3) == (
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0   }\n\n'
    )
    assert encode_event("ping", {"type": "ping"}, 5) == b'event: ping\ndata: {"type": "ping"}\n\n'


def test_decoder_keeps_exact_bytes_across_chunk_boundaries():
    """
    Events split across chunks come out whole, with their exact bytes; CRLF framing is understood.
    """
    body = b'event: a\ndata: {"x":1 }\n\nevent: b\r\ndata: {"y":2}\r\n\r\n: comment\n\n'
    decoder = SseDecoder()
    for i in range(0, len(body), 5):
        decoder.feed(body[i : i + 5], float(i))
    assert [e.raw for e in decoder.events] == [
        b'event: a\ndata: {"x":1 }\n\n',
        b'event: b\r\ndata: {"y":2}\r\n\r\n',
        b": comment\n\n",
    ]
    assert decoder.events[1].json() == {"y": 2} and decoder.events[2].name is None


def test_decode_keeps_a_cut_tail():
    """
    A stream cut mid-event leaves its incomplete tail as a last event.
    """
    events = decode_events(b'event: a\ndata: {}\n\nevent: b\ndata: {"par')
    assert [e.name for e in events] == ["a", "b"]


def test_redaction_keeps_the_credential_class():
    """
    Anthropic keys keep their class prefix; the secret part is gone from any text.
    """
    text = f"x-api-key: {API} authorization: Bearer {OAUTH}"
    red = redact(text)
    assert "SENTINEL" not in red
    assert "sk-ant-api03-…" in red and "sk-ant-oat01-…" in red


def test_registered_and_header_secrets_are_redacted():
    """
    A registered secret without a known prefix, and any value of a credential header, are redacted.
    """
    register_secret("master-SENTINEL-987654")
    assert "SENTINEL" not in redact("key master-SENTINEL-987654 used")
    headers = redact_headers(
        [("X-Api-Key", "opaque-SENTINEL-value"), ("Authorization", "Bearer abc.SENTINEL.def"), ("x-other", "visible")]
    )
    assert all("SENTINEL" not in v for _, v in headers)
    assert headers[2] == ("x-other", "visible")


def test_redaction_gaps_of_the_second_review_are_closed():
    """
    A key split across two chunks, written with \\u002d or %2D dashes, a registered secret base64-encoded (at any
    alignment, inside Basic auth) or JSON-escaped, and cookie values: none reaches an output.
    """
    import base64
    import json

    from conformance.core._redact import redact_any, redact_pieces

    key = "sk-ant-api03-SENTINELsplit000000000000000000AA"
    pieces = redact_pieces(['data: {"k":"' + key[:10], key[10:30], key[30:] + '"}'])
    assert len(pieces) == 3 and "SENTINEL" not in "".join(pieces) and "sk-ant-api" in pieces[0]
    assert "SENTINEL" not in "".join(redact_any(["x" + key[:25], key[25:]]))
    for escaped in ("sk\\u002dant\\u002doat01\\u002dSENTINELesc0000000000", "sk%2Dant%2Dapi03%2DSENTINELpct000000"):
        assert "SENTINEL" not in redact(escaped) and "…" in redact(escaped)
    register_secret("gateway-SENTINEL-b64-987654321")
    for prefix in (b"", b"u:", b"ab:", b"abc:"):
        encoded = base64.b64encode(prefix + b"gateway-SENTINEL-b64-987654321").decode()
        red = redact(encoded)
        assert "[secret]…" in red and len(red) < len(encoded) - 12, (prefix, red)
    register_secret('quote"and\\back-SENTINEL-123')
    assert "SENTINEL" not in redact(json.dumps({"k": 'quote"and\\back-SENTINEL-123'}))
    assert redact("Cookie: session=SENTINELcookie; theme=dark") == "Cookie: session=…; theme=…"
    assert redact_any([["Set-Cookie", "sid=SENTINEL2; Path=/"]]) == [["Set-Cookie", "sid=…; Path=…"]]
    assert redact_headers([("cookie", "a=SENTINEL3")]) == [("cookie", "a=…")]
