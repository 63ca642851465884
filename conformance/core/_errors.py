"""The project's one error catalogue: Anthropic's status ↔ ``error.type`` table, messages and retry hints.

Sources are in ``../shared/reference/anthropic-wire.md`` §2 (docs table, observed bodies, observed
``x-should-retry`` values). Messages marked "doc" or "observed" are verbatim; the rest follow the documented
wording as closely as the public record allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._sse import compact_json


@dataclass(frozen=True, slots=True)
class ErrorKind:
    """One row of the catalogue: what the API sends for an HTTP status."""

    status: int
    type: str
    message: str
    should_retry: bool
    """The ``x-should-retry`` value the real API sends with this status."""


CATALOGUE: dict[int, ErrorKind] = {
    k.status: k
    for k in (
        # observed (cassette dd-trace error_400_invalid_request)
        ErrorKind(400, "invalid_request_error", "messages.0: Input does not match the expected shape.", False),
        # observed (cassette otel-contrib errors)
        ErrorKind(401, "authentication_error", "invalid x-api-key", False),
        # doc wording for billing_error
        ErrorKind(402, "billing_error", "There is an issue with your account's billing or payment information.", False),
        # doc example
        ErrorKind(
            403, "permission_error", "Your API key does not have permission to use the specified resource.", False
        ),
        # doc example
        ErrorKind(404, "not_found_error", "The requested resource could not be found.", False),
        ErrorKind(409, "conflict_error", "The request conflicts with the current state of the resource.", True),
        # secondary pages quoting docs
        ErrorKind(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", False),
        # observed (claude-code issues, 2026)
        ErrorKind(
            429,
            "rate_limit_error",
            "This request would exceed your account's rate limit. Please try again later.",
            True,
        ),
        # doc example
        ErrorKind(500, "api_error", "Internal server error", True),
        ErrorKind(504, "timeout_error", "Request timed out. Consider using streaming for long-running requests.", True),
        # observed (many claude-code issues)
        ErrorKind(529, "overloaded_error", "Overloaded", True),
    )
}

TYPE_TO_STATUS: dict[str, int] = {k.type: k.status for k in CATALOGUE.values()}

# Error messages Claude Code's recovery matches on (its gateway protocol, Errors; the pinned client's patterns
# /^prompt is too long: \d+ tokens > \d+ maximum$/ and "input is too long for requested model"): a path that
# rewords them turns auto-compact into a dead end. All are 400 invalid_request_error.
RECOVERY_MESSAGES: dict[str, str] = {
    "prompt_too_long": "prompt is too long: 215000 tokens > 200000 maximum",
    "input_too_long": "Input is too long for requested model.",
    "request_size": "The request size (30037042 bytes) exceeds 30.000MB limit.",
}


def kind_for(status: int) -> ErrorKind:
    """The catalogue row for ``status``; an unlisted 4xx is ``invalid_request_error`` as the docs say."""
    if status in CATALOGUE:
        return CATALOGUE[status]
    if 400 <= status < 500:
        return ErrorKind(status, "invalid_request_error", "Invalid request", False)
    return ErrorKind(status, "api_error", "Internal server error", True)


def envelope(error_type: str, message: str, request_id: str | None, details: Any = ...) -> dict[str, Any]:
    """The error envelope in the API's key order; ``details`` is included only when given (newer bodies)."""
    error: dict[str, Any] = {}
    if details is not ...:
        error["details"] = details
    error["type"] = error_type
    error["message"] = message
    return {"type": "error", "error": error, "request_id": request_id}


def envelope_bytes(error_type: str, message: str, request_id: str | None) -> bytes:
    """The compact JSON bytes of an error envelope, as the API sends them."""
    return compact_json(envelope(error_type, message, request_id)).encode()
