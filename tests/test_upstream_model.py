"""
The deterministic model: prompt caching, tool use and signed thinking (reference doc §5-§7).
"""

from __future__ import annotations

import copy

import jsonschema
import pytest

from conformance.core._sse import decode_events

from ._helpers import message_body, new_cid, post

LONG = "The quick brown fox jumps over the lazy dog. " * 200  # about 2,250 estimated tokens


def _cached_body(nonce: str, ttl: str | None = None, stream: bool = False) -> dict:
    control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    body = message_body("Summarise the system prompt.", stream=stream)
    body["system"] = [{"type": "text", "text": f"{nonce} {LONG}", "cache_control": control}]
    return body


def test_cache_write_then_read(upstream):
    """
    The first call writes the prefix, a repeat reads it, a changed byte misses.
    """
    nonce = new_cid("cache")
    first = post(upstream.base_url, _cached_body(nonce)).json()["usage"]
    second = post(upstream.base_url, _cached_body(nonce)).json()["usage"]
    changed = post(upstream.base_url, _cached_body(nonce + "x")).json()["usage"]
    assert first["cache_creation_input_tokens"] > 256 and first["cache_read_input_tokens"] == 0
    assert first["cache_creation"] == {
        "ephemeral_5m_input_tokens": first["cache_creation_input_tokens"],
        "ephemeral_1h_input_tokens": 0,
    }
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0
    assert changed["cache_read_input_tokens"] == 0 and changed["cache_creation_input_tokens"] > 0
    assert sum(first[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")) == sum(
        second[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def test_cache_1h_ttl_is_reported_in_its_bucket(upstream):
    """
    A ttl 1h breakpoint counts in ephemeral_1h_input_tokens, in message_start and message_delta alike.
    """
    response = post(upstream.base_url, _cached_body(new_cid("ttl"), ttl="1h", stream=True))
    events = {e.name: e.json() for e in decode_events(response.content)}
    usage = events["message_start"]["message"]["usage"]
    assert usage["cache_creation"]["ephemeral_1h_input_tokens"] == usage["cache_creation_input_tokens"] > 0
    assert events["message_delta"]["usage"]["cache_creation_input_tokens"] == usage["cache_creation_input_tokens"]


def test_short_prefix_is_not_cached(upstream):
    """
    A prefix below the minimum cacheable length is processed without caching, without an error.
    """
    body = message_body("hi")
    body["system"] = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    usage = post(upstream.base_url, body).json()["usage"]
    assert usage["cache_creation_input_tokens"] == 0


def test_more_than_four_breakpoints_is_400(upstream):
    """
    Five cache_control blocks get the API's 400.
    """
    body = message_body()
    body["system"] = [{"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}} for i in range(5)]
    response = post(upstream.base_url, body)
    assert response.status_code == 400
    assert "maximum of 4 blocks" in response.json()["error"]["message"]


TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["c", "f"]},
                "days": {"type": "integer", "minimum": 1},
            },
            "required": ["city", "unit"],
        },
    },
    {
        "name": "get_time",
        "description": "Time in a zone",
        "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    },
]


def _tool_body(stream: bool = False, **directive) -> dict:
    body = message_body("Use the tools.", stream=stream, **directive)
    body["tools"] = copy.deepcopy(TOOLS)
    return body


def test_tool_use_input_is_valid_against_schema(upstream):
    """
    tool=NAME answers a tool_use block whose input validates against the tool's input_schema.
    """
    message = post(upstream.base_url, _tool_body(tool="get_weather")).json()
    assert message["stop_reason"] == "tool_use"
    (block,) = [b for b in message["content"] if b["type"] == "tool_use"]
    assert block["id"].startswith("toolu_01") and block["name"] == "get_weather"
    jsonschema.validate(block["input"], TOOLS[0]["input_schema"])


def test_parallel_streamed_tool_use_reassembles(upstream):
    """
    parallel=2 streams two tool_use blocks whose input_json_delta chunks reassemble to valid inputs.
    """
    import json

    response = post(upstream.base_url, _tool_body(stream=True, tool="*", parallel=2))
    partial: dict[int, str] = {}
    starts = {}
    for event in decode_events(response.content):
        data = event.json()
        if event.name == "content_block_start":
            starts[data["index"]] = data["content_block"]
        if event.name == "content_block_delta" and data["delta"]["type"] == "input_json_delta":
            partial[data["index"]] = partial.get(data["index"], "") + data["delta"]["partial_json"]
    assert [starts[i]["name"] for i in sorted(partial)] == ["get_weather", "get_time"]
    for index, text in partial.items():
        jsonschema.validate(json.loads(text), TOOLS[index]["input_schema"])


def test_tool_result_turn_quotes_the_result(upstream):
    """
    A tool_result follow-up gets a text answer that quotes the result.
    """
    first = post(upstream.base_url, _tool_body(tool="get_time")).json()
    tool_use = first["content"][-1]
    body = _tool_body()
    body["messages"] += [
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "12:00 UTC"}]},
    ]
    second = post(upstream.base_url, body).json()
    assert second["stop_reason"] == "end_turn"
    assert f"Result of {tool_use['id']}: 12:00 UTC." in second["content"][0]["text"]


def _thinking_body(**directive) -> dict:
    body = message_body("Think first.", **directive)
    body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    body["max_tokens"] = 2048
    return body


def test_thinking_signature_round_trip(upstream):
    """
    A thinking block replayed unchanged is accepted; one changed byte gets 400 Invalid `signature`.
    """
    first = post(upstream.base_url, _thinking_body()).json()
    thinking = first["content"][0]
    assert thinking["type"] == "thinking" and thinking["signature"].startswith("E")
    body = _thinking_body()
    body["messages"] += [{"role": "assistant", "content": first["content"]}, {"role": "user", "content": "more"}]
    assert post(upstream.base_url, body).status_code == 200
    body["messages"][1]["content"][0]["thinking"] += " "
    response = post(upstream.base_url, body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "messages.1.content.0: Invalid `signature` in `thinking` block"


def test_redacted_thinking_round_trip(upstream):
    """
    A redacted_thinking block replayed unchanged is accepted; a changed payload gets 400.
    """
    first = post(upstream.base_url, _thinking_body(thinking="redacted")).json()
    assert first["content"][0]["type"] == "redacted_thinking"
    body = _thinking_body()
    body["messages"] += [{"role": "assistant", "content": first["content"]}, {"role": "user", "content": "more"}]
    assert post(upstream.base_url, body).status_code == 200
    data = body["messages"][1]["content"][0]["data"]
    body["messages"][1]["content"][0]["data"] = data[:-8] + ("A" if data[-8] != "A" else "B") + data[-7:]
    assert post(upstream.base_url, body).status_code == 400


def test_streamed_thinking_ends_with_signature_delta(upstream):
    """
    A streamed thinking block has thinking deltas, an empty one, then signature_delta before its stop.
    """
    body = _thinking_body()
    body["stream"] = True
    events = [e for e in decode_events(post(upstream.base_url, body).content) if e.name != "ping"]
    block0 = [e.json() for e in events if e.data and e.json().get("index") == 0]
    assert block0[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert block0[-2]["delta"]["type"] == "signature_delta"
    assert block0[-3]["delta"] == {"type": "thinking_delta", "thinking": ""}


@pytest.mark.parametrize("stream", [False, True])
def test_stop_sequences_end_the_answer_as_the_api_does(upstream, stream):
    """
    A request with stop_sequences ends with stop_reason "stop_sequence" and the sequence named, in JSON and in the
    stream's message_delta (a 2026 recording with a prefill and a stop sequence does this; ours said end_turn/null).
    """
    body = {**message_body(stream=stream), "stop_sequences": ["</answer>", "STOP"]}
    response = post(upstream.base_url, body)
    if stream:
        delta = next(e.json()["delta"] for e in decode_events(response.content) if e.name == "message_delta")
    else:
        delta = response.json()
    assert (delta["stop_reason"], delta["stop_sequence"]) == ("stop_sequence", "</answer>")
