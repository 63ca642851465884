"""Scenario directives: how a request picks its scenario from inside the message text.

A path may drop headers, query strings or ``metadata``, but it must carry the prompt, so the directive travels in
the text: ``[[ec cid=abc123 status=429 retry_after=2]]`` anywhere in a text block (or a plain-string ``content``)
of the last user message that has one, else of the system prompt. Only ASCII letters, digits and ``=._:,-`` appear
in it, so any JSON re-serialisation keeps it byte-for-byte.

Keys (all optional; an unknown key or a value out of its bounds is refused with one line: ``make_directive``
raises ``ScenarioError``, the upstream answers 400 ``invalid_request_error`` naming it):

=================  ==========================================================================================
``cid``            correlation id tying the client's request to the journal entry
``status``         answer with the catalogue error for this HTTP status (``retry_after``, ``should_retry``)
``retry_after``    seconds in ``retry-after`` (429 and others; on a 200 as the API sent it in a rate-limit
                   window, 2025-11 recordings); ``none`` leaves the header out
``should_retry``   ``true`` / ``false`` / ``none`` overrides the catalogue's ``x-should-retry``
``deltas``         number of text deltas in the answer (default 3, at most 10000); after a server tool ``0``
                   means no closing text
``interval``       milliseconds between SSE events (default 0, at most 10000)
``padding``        ``nonzero``: pad every event's data with 1-15 spaces (the API's 0-15 minus 0), so a path that
                   drops or re-does padding shows on every event, whatever the draw
``gap``            ``SECONDS`` of silence after the first content delta (e.g. ``gap=6``); seconds are at most 600
``duration``       spread the deltas evenly over ``SECONDS`` (e.g. ``duration=20``)
``delay``          ``SECONDS`` before the response starts (a slow non-streaming answer)
``midstream``      ``ERROR_TYPE``: after ``after`` content deltas send ``event: error`` and end the stream
``after``          how many content deltas come before ``midstream`` / ``cut`` (default 1)
``cut``            ``1``: close the connection mid-stream without a terminating event
``tool``           name of a tool to call (``*`` = the first one); a server tool's name (``web_search``,
                   ``web_fetch``) makes the upstream run it, a ``defer_loading`` tool is found by tool search first
``parallel``       how many tool calls (default 1, at most 64); server-tool calls past 10 in a turn pause it
                   (``pause_turn``) and go on when the client sends the turn back
``text_first``     ``1``: a text block before the tool calls
``thinking``       ``1`` forces a thinking block, ``omitted`` a signature-only one (empty text), ``redacted`` a
                   ``redacted_thinking`` block, ``0`` none
``bound``          ``1``: the thinking block is bound to its conversation (Claude 5.1+ in 2026): replayed after a
                   change to the system prompt, tools or earlier messages it is refused with 400
``replay``         ``RECORDING[:N]``: serve interaction N of ``fixtures/recordings/RECORDING.yaml`` verbatim
``wording``        ``prompt_too_long`` / ``input_too_long`` / ``request_size``: a 400 with the message Claude Code's
                   recovery matches on (``_errors.RECOVERY_MESSAGES``)
=================  ==========================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from ..core._errors import RECOVERY_MESSAGES, TYPE_TO_STATUS
from ..core._exceptions import ScenarioError

DIRECTIVE = re.compile(r"\[\[ec((?:\s+[A-Za-z_]+=[A-Za-z0-9=._:,*\-]+)*)\s*\]\]")
_PAIR = re.compile(r"([A-Za-z_]+)=([A-Za-z0-9=._:,*\-]+)")
MAX_SECONDS = 600.0
"""No scenario waits longer than a check may take."""


def _number(kind: type, low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not low <= value <= high:
            raise ValueError(f"must be {low:g}..{high:g}")
        return value
    return parse


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text
    return parse


def _flag(text: str) -> bool:
    return _choice("0", "1")(text) == "1"


def _optional_int(text: str) -> int | None:  # "none" leaves the header out
    return None if text == "none" else int(_number(float, 0, 86400)(text))


def _optional_bool(text: str) -> bool | None:
    return None if _choice("true", "false", "none")(text) == "none" else text == "true"


_SECONDS = _number(float, 0, MAX_SECONDS)
_PARSERS: dict[str, Callable[[str], Any]] = {
    "cid": str,
    "status": _number(int, 100, 599),
    "retry_after": _optional_int,
    "should_retry": _optional_bool,
    "deltas": _number(int, 0, 10_000),
    "interval": _number(float, 0, 10_000),
    "padding": _choice("nonzero", "any"),
    "gap": _SECONDS,
    "duration": _SECONDS,
    "delay": _SECONDS,
    "midstream": _choice(*TYPE_TO_STATUS),
    "after": _number(int, 0, 10_000),
    "cut": _flag,
    "tool": str,
    "parallel": _number(int, 1, 64),
    "thinking": _choice("0", "1", "redacted", "omitted"),
    "text_first": _flag,
    "bound": _flag,
    "replay": str,
    "wording": _choice(*RECOVERY_MESSAGES),
}


@dataclass(frozen=True)
class Scenario:
    """The parsed, bounded scenario of one request; every field has the default an absent key means."""

    cid: str | None = None
    status: int | None = None
    retry_after: int | None = None
    """Seconds in ``retry-after``; None with ``"retry_after"`` in ``given`` means leave the header out."""
    should_retry: bool | None = None
    """``x-should-retry``; None with ``"should_retry"`` in ``given`` means leave the header out."""
    deltas: int = 3
    interval: float = 0.0
    padding: str = "any"
    gap: float = 0.0
    duration: float = 0.0
    delay: float = 0.0
    midstream: str | None = None
    after: int = 1
    cut: bool = False
    tool: str | None = None
    parallel: int = 1
    thinking: str | None = None
    text_first: bool = False
    bound: bool = False
    replay: str | None = None
    wording: str | None = None
    given: dict[str, str] = field(default_factory=dict)
    """The key=value pairs as written (what the journal records)."""

    @classmethod
    def parse(cls, values: dict[str, str]) -> Scenario:
        """The scenario of ``values``; raises ScenarioError naming the first unknown key or bad value."""
        typed: dict[str, Any] = {}
        for key, text in values.items():
            parser = _PARSERS.get(key)
            if parser is None:
                raise ScenarioError(f"scenario: unknown key {key!r} (known: {', '.join(_PARSERS)})")
            try:
                typed[key] = parser(text)
            except ValueError as exc:
                raise ScenarioError(f"scenario: {key}={text!r} {exc}") from None
        return cls(**typed, given=dict(values))

    def has(self, key: str) -> bool:
        """Whether the directive named ``key`` (a key given as ``none`` still counts)."""
        return key in self.given


assert set(_PARSERS) == {f.name for f in fields(Scenario)} - {"given"}, "every key has a field and a parser"


CID_HEADER = "x-ec-cid"
REPLAY_HEADER = "x-ec-replay"
"""Where a request with no Messages body carries its correlation id and the recording to replay (or the query
string's ``ec_cid`` and ``ec_replay``)."""


def make_directive(**values: Any) -> str:
    """Render a directive string, e.g. ``make_directive(cid="x1", status=429)`` → ``[[ec cid=x1 status=429]]``;
    raises ScenarioError for an unknown key or a value out of bounds, before anything is sent."""
    given = {k: str(v) for k, v in values.items() if v is not None}
    Scenario.parse(given)
    parts = " ".join(f"{k}={v}" for k, v in given.items())
    return f"[[ec {parts}]]" if parts else "[[ec]]"


def parse_text(text: str) -> dict[str, str] | None:
    """The key=value pairs of the directive in ``text`` (the last one wins), or None."""
    found = None
    for match in DIRECTIVE.finditer(text):
        found = dict(_PAIR.findall(match.group(1)))
    return found


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
    return texts


def directive_values(body: Any) -> dict[str, str]:
    """The directive pairs of a Messages request body: last user message that has one, else the system prompt."""
    if not isinstance(body, dict):
        return {}
    messages = body.get("messages")
    candidates: list[str] = []
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                candidates += reversed(_texts(message.get("content")))
    candidates += _texts(body.get("system"))
    for text in candidates:
        found = parse_text(text)
        if found is not None:
            return found
    return {}


def find_directive(body: Any) -> Scenario:
    """The scenario of a Messages request body; raises ScenarioError for a directive it cannot honour."""
    return Scenario.parse(directive_values(body))
