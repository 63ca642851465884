"""
The official anthropic SDK parses every synthetic answer and reacts to its errors as to the real API's.
"""

from __future__ import annotations

import anthropic
import pytest

from conformance.upstream import DEFAULT_API_KEY, make_directive

from ._helpers import new_cid


@pytest.fixture
def client(upstream, monkeypatch):
    """An SDK client on the upstream with the retry back-off shortened (attempt counts are what is tested)."""
    monkeypatch.setattr(anthropic._base_client.BaseClient, "_calculate_retry_timeout", lambda *a, **k: 0.01)
    return anthropic.Anthropic(api_key=DEFAULT_API_KEY, base_url=upstream.base_url, max_retries=2)


def _messages(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_create_and_stream_give_the_same_message(client):
    """
    messages.create and messages.stream(...).get_final_message() parse and agree on content.
    """
    created = client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=_messages("hi [[ec deltas=4]]"))
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=64, messages=_messages("hi [[ec deltas=4]]")
    ) as stream:
        streamed = stream.get_final_message()
    assert created.content[0].text == streamed.content[0].text == "Hello from the reference"
    assert created.usage.input_tokens == streamed.usage.input_tokens
    assert created._request_id.startswith("req_011C")


def test_sdk_parses_tools_thinking_and_cache(client):
    """
    Tool use, thinking and cache usage parse into the SDK's types, streamed and not.
    """
    tools = [
        {
            "name": "lookup",
            "description": "x",
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        }
    ]
    message = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=2048,
        tools=tools,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=_messages("go [[ec tool=lookup]]"),
    )
    assert [b.type for b in message.content] == ["thinking", "tool_use"]
    assert message.content[1].input == {"q": "example q"}
    with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=2048,
        tools=tools,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=_messages("go [[ec tool=lookup]]"),
    ) as stream:
        final = stream.get_final_message()
    assert final.content[1].input == {"q": "example q"} and final.content[0].signature
    assert final.usage.cache_creation_input_tokens == 0


def test_count_tokens_and_models(client):
    """
    count_tokens and models.list parse.
    """
    assert client.messages.count_tokens(model="claude-haiku-4-5", messages=_messages("hi")).input_tokens > 0
    assert [m.id for m in client.models.list()][0].startswith("claude-")


EXCEPTIONS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    402: "PaymentRequiredError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    413: "RequestTooLargeError",
    429: "RateLimitError",
    500: "InternalServerError",
    504: "InternalServerError",
    529: "OverloadedError",
}


@pytest.mark.parametrize("status", sorted(EXCEPTIONS))
def test_error_status_maps_to_sdk_exception(client, upstream, status):
    """
    Each catalogue status raises the SDK's class for it, carrying the upstream's request id.
    """
    expected = getattr(anthropic, EXCEPTIONS[status], anthropic.APIStatusError)
    cid = new_cid("sdk")
    with pytest.raises(anthropic.APIStatusError) as info:
        client.with_options(max_retries=0).messages.create(
            model="claude-haiku-4-5", max_tokens=8, messages=_messages("x " + make_directive(cid=cid, status=status))
        )
    assert isinstance(info.value, expected)
    assert info.value.request_id == upstream.journal.last(cid).request_id


@pytest.mark.parametrize(
    ("status", "should_retry", "attempts"),
    [
        (429, "true", 3),
        (429, "false", 1),
        (429, "none", 3),
        (529, "true", 3),
        (529, "false", 1),
        (529, "none", 3),
        (500, "false", 1),
        (400, "true", 3),
        (400, "false", 1),
    ],
)
def test_retry_count_follows_x_should_retry(client, upstream, status, should_retry, attempts):
    """
    The SDK's attempts on an error equal the reference doc's rules: x-should-retry overrides the status policy.
    """
    cid = new_cid("retry")
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=8,
            messages=_messages("x " + make_directive(cid=cid, status=status, should_retry=should_retry, retry_after=0)),
        )
    assert len(upstream.journal.entries(cid)) == attempts


def test_midstream_error_raises_without_retry(client, upstream):
    """
    An `event: error` after the 200 raises immediately and is not retried.
    """
    cid = new_cid("mid")
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=8,
            messages=_messages("x " + make_directive(cid=cid, midstream="overloaded_error")),
        ) as stream:
            stream.get_final_message()
    assert "Overloaded" in str(info.value)
    assert len(upstream.journal.entries(cid)) == 1
