"""An ``Answer`` rendered the way the API sends it: one JSON message, or the SSE event sequence."""

from __future__ import annotations

from typing import Any

from ._model import Answer


def usage_object(answer: Answer, output_tokens: int, *, final: bool = True) -> dict[str, Any]:
    """The ``usage`` of a message: non-streaming (``final``), or ``message_start`` with a small output count and
    none of the counts only the end of the turn knows."""
    u = answer.usage
    usage: dict[str, Any] = {
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_creation_input_tokens,
        "cache_read_input_tokens": u.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": u.ephemeral_5m_input_tokens,
            "ephemeral_1h_input_tokens": u.ephemeral_1h_input_tokens,
        },
        "output_tokens": output_tokens,
    }
    if final:
        usage.update(_output_details(answer))
    usage |= {"service_tier": "standard", "inference_geo": "not_available"}
    if final and answer.server_tool_use is not None:
        usage["server_tool_use"] = dict(answer.server_tool_use)
    return usage


def _output_details(answer: Answer) -> dict[str, Any]:
    if answer.thinking_tokens is None:
        return {}
    return {"output_tokens_details": {"thinking_tokens": answer.thinking_tokens}}


def message_json(answer: Answer) -> dict[str, Any]:
    """The non-streaming response body, in the API's 2026 key order."""
    return {
        "model": answer.model,
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "content": [b.final for b in answer.blocks],
        "stop_reason": answer.stop_reason,
        "stop_sequence": answer.stop_sequence,
        "stop_details": None,
        "usage": usage_object(answer, answer.output_tokens),
    } | _context(answer)


def _context(answer: Answer) -> dict[str, Any]:
    return {} if answer.context_management is None else {"context_management": answer.context_management}


def sse_events(answer: Answer) -> list[tuple[str, dict[str, Any], bool]]:
    """``(event name, payload, is_content_delta)`` in stream order, with ``ping`` after the first block start."""
    events: list[tuple[str, dict[str, Any], bool]] = []
    start = {
        "model": answer.model,
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "usage": usage_object(answer, 1, final=False),
    }
    events.append(("message_start", {"type": "message_start", "message": start}, False))
    for index, block in enumerate(answer.blocks):
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block.start},
                False,
            )
        )
        if index == 0:
            events.append(("ping", {"type": "ping"}, False))
        for delta in block.deltas:
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}, True)
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}, False))
    u = answer.usage
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": answer.stop_reason, "stop_sequence": answer.stop_sequence,
                          "stop_details": None},
                "usage": {
                    "input_tokens": u.input_tokens,
                    "cache_creation_input_tokens": u.cache_creation_input_tokens,
                    "cache_read_input_tokens": u.cache_read_input_tokens,
                    "output_tokens": answer.output_tokens,
                    **_output_details(answer),
                    **({"server_tool_use": dict(answer.server_tool_use)} if answer.server_tool_use else {}),
                },
            } | _context(answer),
            False,
        )
    )
    events.append(("message_stop", {"type": "message_stop"}, False))
    return events
