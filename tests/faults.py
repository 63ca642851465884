"""The fault catalogue of ``faultproxy``: each fault's name and meaning, and the body edits as pure functions.

``f`` is the proxy's switched-on faults, ``{name: argument}`` (argument "" for a fault without one).
"""

from __future__ import annotations

import json
import re
from typing import Any

from conformance.core._sse import compact_json

FAULTS = {
    "text-body": "decode every request body as UTF-8 text and encode it again (a proxy that treats bodies as "
                 "text: bytes that are not UTF-8 change)",
    "max-body": "answer 413 with an HTML page to a request body over N bytes (argument), as nginx's default "
                "client_max_body_size 1m does",
    "wrap-errors": "re-wrap an upstream error as LiteLLM did: {error:{message:<escaped JSON>,type:None,…}}",
    "errors-to-500": "answer every upstream error status with 500",
    "reserialize-json": "re-serialise JSON response bodies (same JSON, other bytes)",
    "drop-response-header": "drop the named response header (argument)",
    "drop-request-header": "drop the named request header (argument)",
    "add-response-header": "add a response header x-fault-proxy: 1",
    "add-request-header": "add a request header x-fault-proxy: 1",
    "buffer-stream": "read the whole upstream response before sending any of it",
    "cut-after": "abort a response that lasts longer than N seconds (argument)",
    "idle-timeout": "abort a response when the upstream is silent for N seconds (argument)",
    "reserialize-sse": "re-encode every SSE data payload compactly (drops padding, keeps JSON)",
    "drop-pings": "drop SSE ping events",
    "drop-sse-errors": "drop SSE error events",
    "sse-content-type": "send streams as application/json",
    "mutate-text": "change the text of text deltas and text blocks",
    "stream-errors-as-sse": "answer an error to a stream:true request as a 200 stream with an error event",
    "strip-cache-usage": "remove cache_* usage fields from responses",
    "strip-cache-control": "remove cache_control from the request body",
    "oauth-to-x-api-key": "move an Authorization: Bearer sk-ant-oat… token to x-api-key (the seed's LiteLLM)",
    "bearer-to-x-api-key": "move any Authorization: Bearer credential to x-api-key",
    "strip-beta": "drop anthropic-beta",
    "duplicate-beta": "send the oauth beta twice",
    "duplicate-version": "send anthropic-version twice",
    "leak-proxy-key": "forward the client's x-litellm-api-key upstream instead of stripping it",
    "drop-body-field": "drop a top-level request body field (argument)",
    "reserialize-request": "re-serialise the request body (same JSON, other bytes)",
    "drop-query": "drop the query string",
    "waf": "answer 403 to a request body containing <script>",
    "block-path": "answer 404 for the given path (argument)",
    "strip-schema-field": "drop additionalProperties from tool input_schema",
    "empty-tool-input": "replace tool_use input with {} (and drop input_json_delta)",
    "first-tool-use-only": "drop all but the first tool_use block",
    "strip-is-error": "drop is_error from tool_result blocks in the request",
    "reencode-signature": "change thinking signatures and redacted data in responses",
    "drop-signature-delta": "drop signature_delta events",
    "rewrite-tool-id": "change the id of every tool_use block in responses",
    "response-timeout": "answer 504 'upstream request timeout' when the upstream takes longer than N seconds",
    "tls-sni": "reach the upstream over TLS naming the given SNI instead of api.anthropic.com",
    "delay-per-event": "hold every SSE event N milliseconds before sending it (argument; a slow proxy's cost)",
    "delay-per-request": "hold every request N milliseconds before forwarding it (argument; a slow proxy's cost)",
    "decode-content": "remove the upstream's Content-Encoding (send bodies and streams decoded)",
    "html-502": "answer every request 502 with an HTML page, forwarding nothing (a gateway that is down)",
    "normalise-stop-reason": "answer stop_sequence and pause_turn as end_turn (a gateway knowing four stop reasons)",
    "drop-citations": "drop text citations, citations_delta events and usage.server_tool_use from responses",
    "drop-empty-thinking": "drop thinking blocks with empty text from request history (LiteLLM's sanitizer)",
    "normalise-anthropic-headers": "keep only known anthropic-beta values and send anthropic-version 2023-06-01",
    "drop-unknown-fields": "drop request body fields a typed gateway does not know (top level, blocks, tools)",
    "prepend-system": "put the gateway's own system block before the client's system prompt",
    "inject-system-later": "add a system reminder to requests that carry history (turn 2 on), as a gateway injecting "
                           "policy mid-conversation does",
    "reject-header": "answer 400 when the request carries the named header (argument)",
    "replace-user-agent": "send the gateway's HTTP client's User-Agent instead of the client's",
    "reset-head": "reset the connection of a HEAD request",
    "redirect-models": "answer GET /v1/models with a 307 redirect to /models",
    "slow-models": "hold GET /v1/models N seconds (argument, default 4) before forwarding it",
    "hold-nonessential": "hold every request outside /v1/ and /api/claude_code/ N seconds (argument, default 30): a "
    "path allowlist that lets the API and Claude Code's settings through and drops the rest (telemetry, bootstrap) "
    "silently",
    "ledger-first-usage": "the proxy's usage records take a stream's usage from message_start only (no final counts)",
    "ledger-skips-errors": "the proxy's usage records leave out failed requests",
    "ledger-flat-price": "the proxy's recorded cost prices every prompt token at the input price (no cache prices)",
    "generic-error-message": "keep the error envelope and status, replace error.message with a generic sentence",
}
# The betas a gateway with an allowlist would know (normalise-anthropic-headers keeps only these).
KNOWN_BETAS = {"oauth-2025-04-20", "interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14",
               "context-management-2025-06-27", "advanced-tool-use-2025-11-20", "prompt-caching-2024-07-31"}
# Request body fields a typed gateway knows (drop-unknown-fields drops the rest).
KNOWN_FIELDS = {"model", "messages", "max_tokens", "system", "tools", "tool_choice", "stream", "metadata",
                "temperature", "top_p", "top_k", "stop_sequences", "thinking", "context_management"}
KNOWN_BLOCK_FIELDS = {"type", "text", "cache_control", "id", "name", "input", "tool_use_id", "content", "is_error",
                      "thinking", "signature", "data", "source", "citations"}
KNOWN_TOOL_FIELDS = {"name", "description", "input_schema", "cache_control", "type", "defer_loading"}
# Changes a transparent path may make: every check must still pass through them (content-encoding-kept aside,
# which exists to see the second one).
BENIGN = {
    "rechunk": "split every write into pieces of a few bytes, each flushed on its own",
    "gzip-per-event": "compress the response with gzip, flushed after every SSE event (as a CDN may)",
    "header-case": "send every response header name in upper case",
}
JSON_EDITS = {"rewrite-tool-id", "reserialize-json", "strip-cache-usage", "mutate-text", "empty-tool-input",
               "first-tool-use-only", "reencode-signature", "decode-content", "gzip-per-event",
               "normalise-stop-reason", "drop-citations"}
SSE_EDITS = {"rewrite-tool-id", "drop-pings", "drop-sse-errors", "reserialize-sse", "strip-cache-usage",
              "mutate-text", "empty-tool-input", "drop-signature-delta", "reencode-signature", "delay-per-event",
              "decode-content", "gzip-per-event", "normalise-stop-reason", "drop-citations"}
_STOP_REASONS = {"end_turn", "max_tokens", "tool_use", "refusal"}


def _mutate_usage(usage: Any) -> None:
    if isinstance(usage, dict):
        for key in ("cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation"):
            usage.pop(key, None)


def _signature(value: str) -> str:
    return value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")


def edit_request_body(f: dict[str, str], raw: bytes) -> bytes:
    """The request body after the request faults in ``f``."""
    edits = {
        "drop-body-field",
        "reserialize-request",
        "strip-cache-control",
        "strip-schema-field",
        "strip-is-error",
        "drop-empty-thinking",
        "drop-unknown-fields",
        "prepend-system",
        "inject-system-later",
    }
    if not raw or not edits & set(f):
        return raw
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    if "drop-body-field" in f:
        body.pop(f["drop-body-field"], None)
    text = json.dumps(body)
    if "strip-cache-control" in f:
        text = re.sub(r',\s*"cache_control":\s*\{[^}]*\}', "", text)
    body = json.loads(text)
    if "drop-unknown-fields" in f:
        body = {k: v for k, v in body.items() if k in KNOWN_FIELDS}
        body["tools"] = [{k: v for k, v in t.items() if k in KNOWN_TOOL_FIELDS} for t in body.get("tools") or []] \
            or None
        if body["tools"] is None:
            del body["tools"]
    if "prepend-system" in f:
        system = body.get("system") or []
        system = [{"type": "text", "text": system}] if isinstance(system, str) else system
        body["system"] = [{"type": "text", "text": "You are served through the company gateway."}, *system]
    if "inject-system-later" in f and len(body.get("messages") or []) > 1:
        system = body.get("system") or []
        system = [{"type": "text", "text": system}] if isinstance(system, str) else system
        body["system"] = [*system, {"type": "text", "text": "Reminder: follow the company's data policy."}]
    for tool in body.get("tools") or []:
        if "strip-schema-field" in f:
            tool.get("input_schema", {}).pop("additionalProperties", None)
    for message in body.get("messages") or []:
        if "drop-empty-thinking" in f and isinstance(message.get("content"), list):
            message["content"] = [b for b in message["content"]
                                  if not (b.get("type") == "thinking" and not b.get("thinking"))]
        for block in message.get("content") if isinstance(message.get("content"), list) else []:
            if "strip-is-error" in f and block.get("type") == "tool_result":
                block.pop("is_error", None)
            if "drop-unknown-fields" in f:
                for key in [k for k in block if k not in KNOWN_BLOCK_FIELDS]:
                    del block[key]
    return json.dumps(body, indent=1).encode()


def edit_json_body(f: dict[str, str], body: bytes) -> bytes:
    """A JSON response body after the response faults in ``f``."""
    if not (JSON_EDITS - {"decode-content", "gzip-per-event"}) & set(f):
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict):
        if "strip-cache-usage" in f:
            _mutate_usage(data.get("usage"))
        _edit_stop(f, data)
        if "drop-citations" in f and isinstance(data.get("usage"), dict):
            data["usage"].pop("server_tool_use", None)
        content = data.get("content") if isinstance(data.get("content"), list) else []
        seen_tool = False
        kept = []
        for block in content:
            if block.get("type") == "text" and "mutate-text" in f:
                block["text"] += " (edited)"
            if block.get("type") == "tool_use":
                if "rewrite-tool-id" in f:
                    block["id"] = "toolu_01FAULTFAULTFAULTFAULTFAU"
                if "empty-tool-input" in f:
                    block["input"] = {}
                if seen_tool and "first-tool-use-only" in f:
                    continue
                seen_tool = True
            if "drop-citations" in f:
                block.pop("citations", None)
            if "reencode-signature" in f and block.get("type") == "thinking":
                block["signature"] = _signature(block["signature"])
            if "reencode-signature" in f and block.get("type") == "redacted_thinking":
                block["data"] = _signature(block["data"])
            kept.append(block)
        if content:
            data["content"] = kept
    return json.dumps(data).encode()


def edit_event(f: dict[str, str], name: str | None, raw: bytes, data: str) -> bytes | None:
    """One SSE event after the stream faults; None drops it."""
    if name == "ping" and "drop-pings" in f:
        return None
    if name == "error" and "drop-sse-errors" in f:
        return None
    edits = {
        "rewrite-tool-id",
        "reserialize-sse",
        "strip-cache-usage",
        "mutate-text",
        "empty-tool-input",
        "drop-signature-delta",
        "reencode-signature",
        "normalise-stop-reason",
        "drop-citations",
    }
    if not edits & set(f) or not data or name == "ping":
        return raw
    payload = json.loads(data)
    delta = payload.get("delta") if isinstance(payload.get("delta"), dict) else {}
    if delta.get("type") == "signature_delta" and "drop-signature-delta" in f:
        return None
    if delta.get("type") == "signature_delta" and "reencode-signature" in f:
        delta["signature"] = _signature(delta["signature"])
    if delta.get("type") == "input_json_delta" and "empty-tool-input" in f:
        return None
    if delta.get("type") == "citations_delta" and "drop-citations" in f:
        return None
    _edit_stop(f, delta)
    if "drop-citations" in f:
        (payload.get("content_block") or {}).pop("citations", None)
        (payload.get("usage") or {}).pop("server_tool_use", None)
    if delta.get("type") == "text_delta" and "mutate-text" in f:
        delta["text"] = delta["text"].upper()
    block = payload.get("content_block") if isinstance(payload.get("content_block"), dict) else {}
    if block.get("type") == "tool_use" and "rewrite-tool-id" in f:
        block["id"] = "toolu_01FAULTFAULTFAULTFAULTFAU"
    if "strip-cache-usage" in f:
        _mutate_usage(payload.get("usage"))
        _mutate_usage((payload.get("message") or {}).get("usage"))
    return f"event: {name}\ndata: {compact_json(payload)}\n\n".encode()


def _edit_stop(f: dict[str, str], holder: Any) -> None:
    """``normalise-stop-reason``: a stop reason outside the four a chat-completions mapping knows becomes end_turn."""
    if "normalise-stop-reason" in f and isinstance(holder, dict) and holder.get("stop_reason"):
        if holder["stop_reason"] not in _STOP_REASONS:
            holder["stop_reason"], holder["stop_sequence"] = "end_turn", None
