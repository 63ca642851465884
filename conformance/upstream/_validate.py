"""Request validation with the Messages API's error wording (reference doc §2.3)."""

from __future__ import annotations

import json
import re
from typing import Any

from ._problems import ApiError


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or the API's 400."""
    if not raw.strip():
        raise ApiError(400, "There was an error parsing the body of your request: the body is empty")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"There was an error parsing the body of your request: {exc}") from None
    except RecursionError:  # nested deeper than the parser goes: the API answers such a body 400 too
        raise ApiError(400, "There was an error parsing the body of your request: nested too deeply") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Input should be a valid dictionary or object to extract fields from")
    return body


def check_messages(body: dict[str, Any], *, needs_max_tokens: bool) -> None:
    """Field presence, types and role alternation, in the order the API reports them."""
    if "model" not in body:
        raise ApiError(400, "model: Field required")
    if not isinstance(body["model"], str):
        raise ApiError(400, "model: Input should be a valid string")
    if needs_max_tokens:
        if "max_tokens" not in body:
            raise ApiError(400, "max_tokens: Field required")
        if not isinstance(body["max_tokens"], int) or isinstance(body["max_tokens"], bool) or body["max_tokens"] < 1:
            raise ApiError(400, "max_tokens: Input should be a valid integer greater than or equal to 1")
    messages = body.get("messages")
    if messages is None:
        raise ApiError(400, "messages: Field required")
    if not isinstance(messages, list):
        raise ApiError(400, "messages: Input should be a valid list")
    if not messages:
        raise ApiError(400, "messages: at least one message is required")
    previous = None
    for i, message in enumerate(messages):
        # "system" turns inside messages are sent by Claude Code 2.1 (2026-11); they do not take part in alternation.
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
            raise ApiError(400, f"messages.{i}: Input does not match the expected shape.")
        content = message.get("content")
        if not isinstance(content, (str, list)):
            raise ApiError(400, f"messages.{i}.content: Input should be a valid list")
        if message["role"] == "system":
            continue
        if previous is None and message["role"] != "user":
            raise ApiError(400, 'messages: first message must use the "user" role')
        if message["role"] == previous:
            raise ApiError(400, 'messages: roles must alternate between "user" and "assistant"')
        previous = message["role"]
    check_tool_results(messages)
    check_fields(body)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_error(field: str, value: Any, kind: str) -> ApiError:
    detail = {"number": ", unable to parse string as a number", "integer": ", unable to parse string as an integer",
              "boolean": ", unable to interpret input"}.get(kind, "") if isinstance(value, str) else ""
    return ApiError(400, f"{field}: Input should be a valid {kind}{detail}")


def check_fields(body: dict[str, Any]) -> None:
    """The documented optional fields' types and ranges, with the API's wording (a range as ``temperature:
    range: 0..1``, a type as pydantic words it): a path that rewrites a field into something the API refuses is
    refused here too."""
    for field in ("temperature", "top_p"):
        if field in body:
            if not _number(body[field]):
                raise _type_error(field, body[field], "number")
            if not 0 <= body[field] <= 1:
                raise ApiError(400, f"{field}: range: 0..1")
    if "top_k" in body:
        if not isinstance(body["top_k"], int) or isinstance(body["top_k"], bool):
            raise _type_error("top_k", body["top_k"], "integer")
        if body["top_k"] < 0:
            raise ApiError(400, "top_k: Input should be greater than or equal to 0")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise _type_error("stream", body["stream"], "boolean")
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list):
            raise ApiError(400, "stop_sequences: Input should be a valid list")
        for i, stop in enumerate(stops):
            if not isinstance(stop, str):
                raise ApiError(400, f"stop_sequences.{i}: Input should be a valid string")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise ApiError(400, "metadata: Input should be a valid dictionary")
        if metadata.get("user_id") is not None and not isinstance(metadata["user_id"], str):
            raise ApiError(400, "metadata.user_id: Input should be a valid string")
    if "system" in body and not isinstance(body["system"], (str, list)):
        raise ApiError(400, "system: Input should be a valid list")
    if "tools" in body and not isinstance(body["tools"], list):
        raise ApiError(400, "tools: Input should be a valid list")


def check_tool_results(messages: list[dict[str, Any]]) -> None:
    """Every ``tool_result`` must answer a ``tool_use`` of the message before it."""
    for i, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            continue
        results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
        if not results:
            continue
        before = messages[i - 1].get("content") if i > 0 else None
        ids = {
            b.get("id")
            for b in (before if isinstance(before, list) else [])
            if isinstance(b, dict) and b.get("type") == "tool_use"
        }
        for block in results:
            if block.get("tool_use_id") not in ids:
                raise ApiError(
                    400,
                    f"messages.{i}.content.{content.index(block)}: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message.",
                )


KNOWN_MODEL = re.compile(r"^claude-(opus|sonnet|haiku|instant|mythos|fable|[0-9])[a-z0-9.\-]*$")


def check_model(model: str) -> None:
    """Unknown models get the API's 404 ``model: NAME``; every ``claude-{opus,sonnet,haiku,N}…`` name is known."""
    if not KNOWN_MODEL.match(model):
        raise ApiError(404, f"model: {model}")


# Body fields the API accepts only with their beta (Claude Code's gateway protocol: a beta header and its paired
# body fields travel together; one without the other is a hard 400).
PAIRED_FIELDS = {"context_management": ("context-management-",), "defer_loading": ("advanced-tool-use-",
                                                                                    "tool-search-tool-")}


def check_beta_pairs(body: dict[str, Any], betas: frozenset[str]) -> None:
    """400 ``Extra inputs are not permitted`` for a paired body field that arrived without its beta."""
    def has(field: str) -> bool:
        return any(b.startswith(PAIRED_FIELDS[field]) for b in betas)

    if "context_management" in body and not has("context_management"):
        raise ApiError(400, "context_management: Extra inputs are not permitted")
    for i, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, dict) and "defer_loading" in tool and not has("defer_loading"):
            raise ApiError(400, f"tools.{i}.custom.defer_loading: Extra inputs are not permitted")
