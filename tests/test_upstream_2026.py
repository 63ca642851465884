"""
The 2026 features agents use: server tools (web search and fetch, tool search, pause_turn), thinking in its 2026
forms (signature-only, interleaved), usage details and the headers of a 200 (reference doc §4.3, §6, §7).
"""

from __future__ import annotations

import copy

import pytest

from conformance.core._sse import assemble_message, decode_events

from ._helpers import api_headers, message_body, new_cid, post

WEB_TOOLS = [{"type": "web_search_20250305", "name": "web_search"}, {"type": "web_fetch_20250910", "name": "web_fetch"}]


def _web_body(stream: bool = False, **directive) -> dict:
    body = message_body("What is on https://example.org/page today?", stream=stream, cid=new_cid("web"), **directive)
    body["tools"] = copy.deepcopy(WEB_TOOLS)
    body["max_tokens"] = 4096
    return body


def _message(response) -> dict:
    if "event-stream" in response.headers.get("content-type", ""):
        return assemble_message(decode_events(response.content))
    return response.json()


@pytest.mark.parametrize("stream", [False, True])
def test_web_search_cites_its_result(upstream, stream):
    """
    A web search runs as server_tool_use + web_search_tool_result, the answer cites a result, usage counts the
    search; streamed, the same message rebuilds from the events (citations_delta before the cited text).
    """
    response = post(upstream.base_url, _web_body(stream, tool="web_search"))
    message = _message(response)
    kinds = [b["type"] for b in message["content"]]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text", "text"], kinds
    use, result, _, cited = message["content"]
    assert use["id"].startswith("srvtoolu_01") and result["tool_use_id"] == use["id"]
    assert use["input"]["query"].startswith("What is on")
    assert cited["citations"][0]["url"] == result["content"][0]["url"]
    assert message["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}
    assert message["stop_reason"] == "end_turn"
    if stream:
        names = [e.json()["delta"]["type"] for e in decode_events(response.content) if e.name == "content_block_delta"
                 and e.json()["index"] == 3]
        assert names[0] == "citations_delta" and set(names[1:]) == {"text_delta"}


def test_web_fetch_fetches_the_url_in_the_prompt(upstream):
    """
    web_fetch fetches the URL the user named and returns a web_fetch_result document.
    """
    message = post(upstream.base_url, _web_body(tool="web_fetch", deltas=0)).json()
    assert [b["type"] for b in message["content"]] == ["server_tool_use", "web_fetch_tool_result"]
    fetched = message["content"][1]["content"]
    assert fetched["type"] == "web_fetch_result" and fetched["url"] == "https://example.org/page"
    assert message["usage"]["server_tool_use"] == {"web_search_requests": 0, "web_fetch_requests": 1}


def test_more_than_ten_searches_pause_the_turn_and_continue(upstream):
    """
    Twelve searches: the turn pauses after ten with the eleventh announced (pause_turn); sent back, the turn goes
    on from that call and ends.
    """
    body = _web_body(tool="web_search", parallel=12)
    first = post(upstream.base_url, body).json()
    assert first["stop_reason"] == "pause_turn"
    assert first["usage"]["server_tool_use"]["web_search_requests"] == 10
    assert first["content"][-1]["type"] == "server_tool_use"
    body["messages"].append({"role": "assistant", "content": first["content"]})
    second = post(upstream.base_url, body).json()
    assert second["stop_reason"] == "end_turn", second
    assert second["content"][0] == {**second["content"][0], "tool_use_id": first["content"][-1]["id"]}
    assert second["usage"]["server_tool_use"]["web_search_requests"] == 2


def test_changed_encrypted_content_is_refused(upstream):
    """
    Search results and citations sent back as history must be unchanged, like thinking signatures.
    """
    first = post(upstream.base_url, _web_body(tool="web_search")).json()
    body = _web_body()
    body["messages"] += [{"role": "assistant", "content": first["content"]}, {"role": "user", "content": "More."}]
    assert post(upstream.base_url, body).status_code == 200
    hit = body["messages"][1]["content"][1]["content"][0]
    hit["encrypted_content"] = hit["encrypted_content"][:-6] + "AAAA=="
    response = post(upstream.base_url, body)
    assert response.status_code == 400
    assert "Invalid `encrypted_content` in `web_search_tool_result` block" in response.json()["error"]["message"]


def test_deferred_tool_is_found_by_tool_search(upstream):
    """
    A defer_loading tool is called only after the request's tool-search tool found it (2026-03 recordings).
    """
    body = message_body("Weather?", tool="get_weather")
    body["tools"] = [
        {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
        {"name": "get_weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
         "defer_loading": True},
    ]
    headers = api_headers(**{"anthropic-beta": "advanced-tool-use-2025-11-20,context-management-2025-06-27"})
    message = post(upstream.base_url, body, headers).json()
    kinds = [b["type"] for b in message["content"]]
    assert kinds == ["server_tool_use", "tool_search_tool_result", "text", "tool_use"], kinds
    found = message["content"][1]["content"]["tool_references"]
    assert found == [{"type": "tool_reference", "tool_name": "get_weather"}]
    assert message["stop_reason"] == "tool_use"
    assert message["context_management"] == {"applied_edits": []}


def _thinking(body: dict, **thinking) -> dict:
    body["thinking"] = {"type": "enabled", "budget_tokens": 1024, **thinking}
    body["max_tokens"] = 2048
    return body


@pytest.mark.parametrize("stream", [False, True])
def test_omitted_thinking_is_signature_only_and_replays(upstream, stream):
    """
    display "omitted" gives a thinking block with empty text and a signature (streamed: one signature_delta);
    replayed unchanged it is accepted, with a changed signature it is refused.
    """
    body = _thinking(message_body("Think.", stream=stream, cid=new_cid("omit")), display="omitted")
    response = post(upstream.base_url, body)
    message = _message(response)
    block = message["content"][0]
    assert block["type"] == "thinking" and block["thinking"] == "" and len(block["signature"]) > 100
    assert message["usage"]["output_tokens_details"]["thinking_tokens"] >= 1
    replay = _thinking(message_body("Think."), display="omitted")
    replay["messages"] += [{"role": "assistant", "content": message["content"]}, {"role": "user", "content": "Go."}]
    assert post(upstream.base_url, replay).status_code == 200
    block["signature"] = block["signature"][:40] + ("A" if block["signature"][40] != "A" else "B") + \
        block["signature"][41:]
    assert post(upstream.base_url, replay).status_code == 400


@pytest.mark.parametrize(("beta", "thinks"), [(None, False), ("interleaved-thinking-2025-05-14", True)])
def test_thinking_after_tool_results_needs_interleaving(upstream, beta, thinks):
    """
    After a tool result the model thinks again only with interleaved thinking; thinking_tokens is reported either way.
    """
    body = _thinking(message_body("Weather?", cid=new_cid("inter")))
    body["tools"] = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}]
    body["messages"] += [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01X", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01X", "content": "sunny"}]},
    ]
    headers = api_headers(**({"anthropic-beta": beta} if beta else {}))
    message = post(upstream.base_url, body, headers).json()
    assert (message["content"][0]["type"] == "thinking") is thinks
    assert ("thinking_tokens" in message["usage"]["output_tokens_details"]) is True


def test_retry_after_on_a_200_and_traceresponse(upstream):
    """
    A 200 in a rate-limit window carries retry-after (2025-11 recordings); every answer carries traceresponse.
    """
    response = post(upstream.base_url, message_body(retry_after=31))
    assert response.status_code == 200 and response.headers["retry-after"] == "31"
    assert response.headers["traceresponse"].startswith("00-")
    assert "retry-after" not in post(upstream.base_url, message_body()).headers


def _bound_turns(upstream, edit=None, headers=None, extra=None):
    """A bound thinking turn, then the next turn with its prefix as ``edit`` leaves it: the second answer."""
    body = message_body("Think, then answer.", cid=new_cid("bind"), thinking="1", bound="1")
    body["system"] = [{"type": "text", "text": "You are a careful pair programmer."}]
    first = post(upstream.base_url, body)
    assert first.status_code == 200
    follow = message_body("And then?", cid=new_cid("bind"), bound="1")["messages"][0]
    answer = {"role": "assistant", "content": first.json()["content"]}
    second = {**body, "messages": [*body["messages"], answer, follow]}
    if edit:
        edit(second)
    second.update(extra or {})
    return post(upstream.base_url, second, headers={**api_headers(), **(headers or {})})


def test_a_bound_thinking_block_survives_only_an_unchanged_prefix(upstream):
    """
    A thinking block bound to its conversation (Claude 5.1+) is accepted on the next turn when system, tools and
    earlier messages are unchanged, refused with the API's 400 when the system prompt grew, and accepted again
    when the request opts out (block_binding drop_block with its beta).
    """
    assert _bound_turns(upstream).status_code == 200
    grown = _bound_turns(upstream, lambda b: b["system"].append({"type": "text", "text": "Policy reminder."}))
    assert grown.status_code == 400 and "bound to a different conversation" in grown.json()["error"]["message"]
    opted = _bound_turns(upstream, lambda b: b["system"].append({"type": "text", "text": "Policy reminder."}),
                         headers={"anthropic-beta": "thinking-binding-controls-2026-08-01"},
                         extra={"block_binding": {"prefix_mismatch_behavior": "drop_block"}})
    assert opted.status_code == 200
