"""
Error envelope, catalogue and request validation of the reference upstream (reference doc §2).
"""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

from conformance.core._errors import CATALOGUE
from conformance.core._exceptions import ScenarioError
from conformance.core._fixtures import SCHEMAS_DIR
from conformance.upstream import make_directive

from ._helpers import api_headers, message_body, new_cid, post

SCHEMA = json.loads((SCHEMAS_DIR / "error-envelope.schema.json").read_text())


@pytest.mark.parametrize("status", sorted(CATALOGUE))
def test_catalogue_error_has_the_compact_envelope(upstream, status):
    """
    Each catalogue status comes back as the compact envelope with the header's request id and x-should-retry.
    """
    cid = new_cid()
    response = post(upstream.base_url, message_body(cid=cid, status=status))
    assert response.status_code == status
    body = response.json()
    jsonschema.validate(body, SCHEMA)
    assert body["error"]["type"] == CATALOGUE[status].type
    assert response.content == json.dumps(body, separators=(",", ":")).encode()
    assert body["request_id"] == response.headers["request-id"]
    assert response.headers["x-should-retry"] == ("true" if CATALOGUE[status].should_retry else "false")
    assert ("retry-after" in response.headers) == (status == 429)
    assert upstream.journal.last(cid).status == status


def test_retry_hints_follow_the_directive(upstream):
    """
    retry_after and should_retry in the directive set or remove the headers.
    """
    response = post(upstream.base_url, message_body(status=529, retry_after=3, should_retry="none"))
    assert response.headers["retry-after"] == "3"
    assert "x-should-retry" not in response.headers
    response = post(upstream.base_url, message_body(status=429, retry_after="none", should_retry="false"))
    assert "retry-after" not in response.headers
    assert response.headers["x-should-retry"] == "false"


def test_stream_request_that_fails_gets_json(upstream):
    """
    A stream:true request that fails validation gets a JSON error, not SSE.
    """
    response = post(upstream.base_url, message_body(stream=True, status=400))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"


_FIELD = b'{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}],%s}'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "There was an error parsing the body of your request"),
        (b"", "There was an error parsing the body of your request"),
        (b"[1, 2]", "Input should be a valid dictionary"),
        (b'{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}', "max_tokens: Field required"),
        (b'{"model":"claude-sonnet-4-5","max_tokens":5}', "messages: Field required"),
        (
            b'{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"a"},'
            b'{"role":"user","content":"b"}]}',
            'messages: roles must alternate between "user" and "assistant"',
        ),
        (_FIELD % b'"temperature":"hot"', "temperature: Input should be a valid number"),
        (_FIELD % b'"temperature":1.5', "temperature: range: 0..1"),
        (_FIELD % b'"temperature":-1', "temperature: range: 0..1"),
        (_FIELD % b'"top_p":2', "top_p: range: 0..1"),
        (_FIELD % b'"top_k":-3', "top_k: Input should be greater than or equal to 0"),
        (_FIELD % b'"stream":"yes"', "stream: Input should be a valid boolean"),
        (_FIELD % b'"stop_sequences":[1]', "stop_sequences.0: Input should be a valid string"),
        (_FIELD % b'"metadata":{"user_id":7}', "metadata.user_id: Input should be a valid string"),
        (_FIELD % b'"tools":{}', "tools: Input should be a valid list"),
    ],
)
def test_validation_errors_use_the_real_wording(upstream, body, message):
    """
    Malformed or incomplete bodies get 400 invalid_request_error in the API's style, never a 500.
    """
    with httpx.Client() as client:
        response = client.post(upstream.base_url + "/v1/messages", content=body, headers=api_headers())
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["message"].startswith(message)


def test_wrong_content_type_is_still_parsed_as_json(upstream):
    """
    A text/plain content type with a JSON body is read as JSON, as the API does; a non-JSON body is a 400.
    """
    with httpx.Client() as client:
        ok = client.post(
            upstream.base_url + "/v1/messages",
            content=json.dumps(message_body()),
            headers=api_headers(**{"content-type": "text/plain"}),
        )
        bad = client.post(
            upstream.base_url + "/v1/messages", content=b"hello", headers=api_headers(**{"content-type": "text/plain"})
        )
    assert ok.status_code == 200
    assert bad.status_code == 400


def test_unknown_path_is_anthropic_404(upstream):
    """
    An unknown path gets an Anthropic-shaped 404.
    """
    with httpx.Client() as client:
        response = client.get(upstream.base_url + "/v1/nothing-here", headers=api_headers())
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_unknown_model_is_404(upstream):
    """
    An unknown model gets 404 "model: NAME".
    """
    body = message_body()
    body["model"] = "invalid-model-name"
    response = post(upstream.base_url, body)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "model: invalid-model-name"


def test_body_over_32_mb_is_413(upstream):
    """
    A body larger than 32 MB gets 413 request_too_large.
    """
    big = (
        b'{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"'
        + b"a" * (32 * 1024 * 1024)
        + b'"}]}'
    )
    with httpx.Client(timeout=60) as client:
        response = client.post(upstream.base_url + "/v1/messages", content=big, headers=api_headers())
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"


def test_tool_result_without_tool_use_is_400(upstream):
    """
    A tool_result whose tool_use_id matches nothing in the previous message gets 400.
    """
    body = message_body()
    body["messages"] = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01nothing", "content": "x"}]},
    ]
    response = post(upstream.base_url, body)
    assert response.status_code == 400
    assert "unexpected `tool_use_id`" in response.json()["error"]["message"]


@pytest.mark.parametrize(("directive", "named"), [
    ("[[ec cid=s1 colour=red]]", "unknown key 'colour'"),
    ("[[ec cid=s2 deltas=100000000]]", "deltas='100000000' must be 0..10000"),
    ("[[ec cid=s3 gap=9999]]", "gap='9999' must be 0..600"),
    ("[[ec cid=s4 should_retry=True]]", "should_retry='True' must be one of true, false, none"),
])
def test_a_scenario_it_cannot_honour_is_refused_at_once(upstream, directive, named):
    """
    An unknown directive key or a value out of bounds gets one 400 naming it, fast (deltas=100000000 once hung
    the upstream and took 6 GB), and make_directive refuses it before anything is sent.
    """
    body = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": f"x {directive}"}]}
    response = post(upstream.base_url, {**body, "stream": True}, timeout=5)
    assert response.status_code == 400
    assert named in response.json()["error"]["message"]
    assert upstream.journal.last(directive.split()[1][4:]).scenario  # journaled as written
    values = dict(pair.split("=") for pair in directive[5:-2].split())
    with pytest.raises(ScenarioError, match="scenario: "):
        make_directive(**values)


def test_bad_input_to_the_upstream_gets_a_400_in_the_apis_shape(upstream):
    """
    A body nested deeper than the parser goes, a journal query with a non-numeric ``since`` and a models page with a
    bad ``limit`` are answered 400 with an error envelope, not a plain-text 500; the largest directive values are
    answered quickly.
    """
    nested = b'{"model":"claude-haiku-4-5","max_tokens":8,"messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = httpx.post(upstream.base_url + "/v1/messages", content=nested, headers=api_headers(), timeout=10)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    response = httpx.get(upstream.base_url + "/_conformance/journal", params={"since": "abc"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    for limit in ("abc", "0", "-1", "99999999999999999999"):
        response = httpx.get(upstream.base_url + "/v1/models", params={"limit": limit}, headers=api_headers(),
                             timeout=10)
        assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error", limit
    # Every numeric directive value has bounds: the largest allowed answer is still quick and small.
    for directive in ("deltas=10000", "parallel=64 tool=*"):
        body = {"model": "claude-haiku-4-5", "max_tokens": 100000, "messages": [
            {"role": "user", "content": f"x [[ec {directive}]]"}], "tools": [
            {"name": "t", "input_schema": {"type": "object", "properties": {}}}]}
        response = post(upstream.base_url, {**body, "stream": True}, timeout=10)
        assert response.status_code == 200 and len(response.content) < 5_000_000, directive
