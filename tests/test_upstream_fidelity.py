"""
The reference upstream answers each recorded request the way api.anthropic.com did.

For every interaction in ``fixtures/recordings/`` the recorded request is sent to the upstream, with a scenario
directive that picks the same branch the real model took (call this tool, fail with this status), and the synthetic
answer is compared with the recorded one: status, non-volatile header names, SSE grammar, JSON key sets and value
types per event, error envelope shape.

Volatile, and so not compared: every value (ids, dates, text, token counts — the model is not the real one), chunk
boundaries, and the keys and headers the API added or dropped over time. The upstream speaks the 2026 dialect, so a
key from ``ERA_KEYS`` may be missing from an older recording; a key the recording has must exist in the answer.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance.core._sse import decode_events
from conformance.upstream import _replay
from conformance.upstream._directive import make_directive
from conformance.upstream._thinking import sign

from ._helpers import api_headers, new_cid, post
from ._shape import shape

# Keys whose presence depends on the recording's date (reference doc §4.2, §4.3, §5): absent before, present after.
ERA_KEYS = {
    "stop_details",
    "inference_geo",
    "cache_creation",
    "caller",
    "service_tier",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "input_tokens",
    "output_tokens_details",  # 2026-05
    "thinking_tokens",
    "web_fetch_requests",  # absent from a 2025-11 web-search stream, present in 2025-09 and 2026 ones
    "context_management",
}
# Response headers the API added over time: the upstream sends them, an older recording may lack them.
ERA_HEADERS = {"traceresponse"}
# Response headers that depend on the date, the recorder, or the connection rather than on the API's contract.
VOLATILE_HEADERS = {
    "via",
    "x-cloud-trace-context",
    "set-cookie",
    "server-timing",
    "vary",
    "content-encoding",
    "content-length",
    "transfer-encoding",
    "connection",
    "content-security-policy",
    "x-envoy-upstream-service-time",
    "strict-transport-security",
    "cf-cache-status",
    "anthropic-organization-id",
    "x-robots-tag",
}
# Interaction 0 of the otel-contrib errors file is hand-written (SOURCES.md: no request-id, content-length wrong).
HAND_WRITTEN = {("otel-contrib__errors_401_400_404_2024-12_to_2026-02", 0)}

CASES = [
    (name, rec.index) for name in _replay.names() for rec in _replay.load(name) if (name, rec.index) not in HAND_WRITTEN
]


def _recorded_body(rec: _replay.Recording) -> bytes:
    return gzip.decompress(rec.body) if rec.is_gzip and rec.body[:2] == b"\x1f\x8b" else rec.body


def _request_body(rec: _replay.Recording, directive: str, signing_key: bytes) -> dict[str, Any]:
    body = json.loads(rec.request_body)
    body = copy.deepcopy(body)
    # Recorded thinking blocks carry Anthropic's signatures; re-sign them with the upstream's key.
    # A recorded request may be malformed on purpose (a bare string as a message: the API's 400 is the recording).
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    for message in messages:
        for block in message.get("content") if isinstance(message.get("content"), list) else []:
            if isinstance(block, dict) and block.get("type") == "thinking":
                block["signature"] = sign(signing_key, block.get("thinking", ""))
    # The directive goes where the upstream reads it: the last user message (an assistant prefill may follow it).
    last = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    if last is None:  # nowhere to carry it: the system prompt, which the upstream also reads
        body["system"] = directive
    elif isinstance(last["content"], str):
        last["content"] += " " + directive
    else:
        last["content"].append({"type": "text", "text": directive})
    return body


def _scenario(rec: _replay.Recording, recorded: Any, cid: str) -> tuple[str, dict[str, str]]:
    headers = api_headers()
    for name, values in rec.request_headers.items():
        if name.lower() == "anthropic-beta":
            headers["anthropic-beta"] = ",".join(values)
    values: dict[str, Any] = {"cid": cid}
    if rec.status == 401:
        headers["x-api-key"] = "sk-ant-api03-not-a-valid-key"
    elif rec.status >= 400 and not (rec.status == 404 and "model:" in json.dumps(recorded)):
        values["status"] = rec.status
    blocks = _content_blocks(rec, recorded)
    tools = [b for b in blocks if b.get("type") == "tool_use"]
    if tools:
        values["tool"] = tools[0]["name"]
        values["parallel"] = len(tools)
    # Web search and fetch run when asked by name; a tool search runs by itself before a deferred tool is called.
    served = [b for b in blocks if b.get("type") == "server_tool_use" and not b["name"].startswith("tool_search")]
    if served:
        values["tool"] = served[0]["name"]
        values["parallel"] = len(served)
        last_result = max(i for i, b in enumerate(blocks) if str(b.get("type")).endswith("_tool_result"))
        if not any(b.get("type") == "text" for b in blocks[last_result:]):
            values["deltas"] = 0
    if rec.status == 200:
        retry_after = [v for k, v in rec.headers if k.lower() == "retry-after"]
        if retry_after:
            values["retry_after"] = retry_after[0]
    if any(b.get("type") == "redacted_thinking" for b in blocks):
        values["thinking"] = "redacted"
    elif not any(b.get("type") == "thinking" for b in blocks):
        values["thinking"] = 0
    first_call = next((b for b in blocks if b.get("type") in ("tool_use", "server_tool_use")), None)
    if first_call and any(b.get("type") == "text" for b in blocks[: blocks.index(first_call)]):
        values["text_first"] = 1
    return make_directive(**values), headers


def _content_blocks(rec: _replay.Recording, recorded: Any) -> list[dict[str, Any]]:
    if rec.is_sse:
        return [
            e.json()["content_block"] for e in decode_events(_recorded_body(rec)) if e.name == "content_block_start"
        ]
    return recorded.get("content", []) if isinstance(recorded, dict) else []


def _era_free(paths: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(p, t) for p, t in paths if not (set(re.split(r"[.\[\]=]", p)) & ERA_KEYS)}


def _grouped_event_shapes(body: bytes) -> dict[str, set[tuple[str, str]]]:
    groups: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for event in decode_events(body):
        if not event.data:
            continue
        data = event.json()
        key = event.name or "?"
        if "content_block" in data:
            key += ":" + data["content_block"]["type"]
        if "delta" in data and "type" in data["delta"]:
            key += ":" + data["delta"]["type"]
        groups[key] |= shape(data)
    return groups


SSE_GRAMMAR = re.compile(
    r"message_start (ping )?(content_block_start (ping )?(content_block_delta (ping )?)*content_block_stop (ping )?)*"
    r"message_delta (message_stop )?$"
)


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}[{i}]" for n, i in CASES])
def test_synthetic_answer_matches_recording(upstream, name: str, index: int) -> None:
    """
    The upstream's answer to a recorded request has the recording's status, headers, grammar and shapes.
    """
    rec = _replay.load(name)[index]
    recorded_body = _recorded_body(rec)
    recorded = None if rec.is_sse else json.loads(recorded_body)
    cid = new_cid("fid")
    directive, headers = _scenario(rec, recorded, cid)
    url = urlsplit(rec.uri)
    response = post(
        upstream.base_url,
        _request_body(rec, directive, upstream.config.signing_key),
        headers,
        path=url.path + (f"?{url.query}" if url.query else ""),
    )

    assert response.status_code == rec.status, response.text

    if rec.byte_exact and "request-id" in {k.lower() for k, _ in rec.headers}:
        # The rate-limit buckets differ by account and year; the family must be there when the recording has it.
        theirs = {k.lower() for k, _ in rec.headers} - VOLATILE_HEADERS
        ours = {k.lower() for k in response.headers} - VOLATILE_HEADERS - (ERA_HEADERS - theirs)
        ratelimit = re.compile(r"anthropic-ratelimit-")
        assert any(map(ratelimit.match, ours)) == any(map(ratelimit.match, theirs))
        ours = {k for k in ours if not ratelimit.match(k)}
        theirs = {k for k in theirs if not ratelimit.match(k)}
        assert ours == theirs, f"only ours: {sorted(ours - theirs)}; only recorded: {sorted(theirs - ours)}"

    if rec.is_sse:
        ours_events = decode_events(response.content)
        recorded_events = decode_events(recorded_body)
        for events in (ours_events, recorded_events):
            sequence = " ".join(e.name for e in events if e.name) + " "
            assert SSE_GRAMMAR.match(sequence), sequence
        ours_groups = _grouped_event_shapes(response.content)
        theirs_groups = _grouped_event_shapes(recorded_body)
        # Adaptive thinking may or may not think; the grammar above covers order, the shapes cover each group.
        for group, theirs_shape in theirs_groups.items():
            if group not in ours_groups and group.endswith(("thinking", "thinking_delta", "signature_delta")):
                continue
            assert group in ours_groups, f"event group {group} missing; ours: {sorted(ours_groups)}"
            missing = _era_free(theirs_shape) - ours_groups[group]
            assert not missing, f"{group}: keys/types in the recording but not in ours: {sorted(missing)}"
            extra = _era_free(ours_groups[group]) - theirs_shape
            assert not extra, f"{group}: keys/types in ours but not in the recording: {sorted(extra)}"
    else:
        ours_json = response.json()
        theirs_shape = shape(recorded)
        ours_shape = shape(ours_json)
        if rec.status >= 400:
            assert {p for p, _ in theirs_shape} - {"$.error.details"} <= {p for p, _ in ours_shape}
            assert list(ours_json) == ["type", "error", "request_id"]
            assert ours_json["request_id"] == response.headers["request-id"]
        else:
            missing = _era_free(theirs_shape) - ours_shape
            assert not missing, f"keys/types in the recording but not in ours: {sorted(missing)}"
            extra = _era_free(ours_shape) - theirs_shape
            assert not extra, f"keys/types in ours but not in the recording: {sorted(extra)}"
    entry = upstream.journal.last(cid)
    assert entry is not None and entry.completed
