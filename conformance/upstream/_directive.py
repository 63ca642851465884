"""Scenario directives: how a request picks its scenario from inside the message text.

A path may drop headers, query strings or ``metadata``, but it must carry the prompt, so the directive travels in
the text: ``[[ec cid=abc123 status=429 retry_after=2]]`` anywhere in a text block (or a plain-string ``content``)
of the last user message that has one, else of the system prompt. Only ASCII letters, digits and ``=._:,-`` appear
in it, so any JSON re-serialisation keeps it byte-for-byte.

Keys (all optional):

=================  ==========================================================================================
``cid``            correlation id tying the client's request to the journal entry
``status``         answer with the catalogue error for this HTTP status (``retry_after``, ``should_retry``)
``retry_after``    seconds in ``retry-after`` (429 and others); ``none`` leaves the header out
``should_retry``   ``true`` / ``false`` / ``none`` overrides the catalogue's ``x-should-retry``
``deltas``         number of text deltas in the answer (default 3)
``interval``       milliseconds between SSE events (default 0)
``padding``        ``nonzero``: pad every event's data with 1-15 spaces (the API's 0-15 minus 0), so a path that
                   drops or re-does padding shows on every event, whatever the draw
``gap``            ``SECONDS`` of silence after the first content delta (e.g. ``gap=6``)
``duration``       spread the deltas evenly over ``SECONDS`` (e.g. ``duration=20``)
``delay``          ``SECONDS`` before the response starts (a slow non-streaming answer)
``midstream``      ``ERROR_TYPE``: after ``after`` content deltas send ``event: error`` and end the stream
``after``          how many content deltas come before ``midstream`` / ``cut`` (default 1)
``cut``            ``1``: close the connection mid-stream without a terminating event
``tool``           name of a tool to call (``*`` = the first one); ``parallel=N`` calls N tools
``thinking``       ``1`` forces a thinking block, ``redacted`` a ``redacted_thinking`` block
``replay``         ``RECORDING[:N]``: serve interaction N of ``fixtures/recordings/RECORDING.yaml`` verbatim
=================  ==========================================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

DIRECTIVE = re.compile(r"\[\[ec((?:\s+[A-Za-z_]+=[A-Za-z0-9=._:,*\-]+)*)\s*\]\]")
_PAIR = re.compile(r"([A-Za-z_]+)=([A-Za-z0-9=._:,*\-]+)")


def make_directive(**values: Any) -> str:
    """Render a directive string, e.g. ``make_directive(cid="x1", status=429)`` → ``[[ec cid=x1 status=429]]``."""
    parts = " ".join(f"{k}={v}" for k, v in values.items() if v is not None)
    return f"[[ec {parts}]]" if parts else "[[ec]]"


@dataclass
class Directive:
    """The parsed scenario for one request."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)

    def int(self, key: str, default: int) -> int:
        try:
            return int(self.values[key])
        except (KeyError, ValueError):
            return default

    def float(self, key: str, default: float) -> float:
        try:
            return float(self.values[key])
        except (KeyError, ValueError):
            return default

    @property
    def cid(self) -> str | None:
        return self.values.get("cid")


def parse_text(text: str) -> Directive | None:
    """The directive in ``text`` (the last one wins), or None."""
    found = None
    for match in DIRECTIVE.finditer(text):
        found = dict(_PAIR.findall(match.group(1)))
    return Directive(found) if found is not None else None


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
    return texts


def find_directive(body: Any) -> Directive:
    """The directive of a Messages request body: last user message that has one, else the system prompt."""
    if not isinstance(body, dict):
        return Directive()
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                for text in reversed(_texts(message.get("content"))):
                    directive = parse_text(text)
                    if directive is not None:
                        return directive
    for text in _texts(body.get("system")):
        directive = parse_text(text)
        if directive is not None:
            return directive
    return Directive()
