"""The project's one SSE codec: Anthropic's event framing, encoded and decoded on raw bytes.

Anthropic frames every event as ``event: NAME\\ndata: JSON\\n\\n`` (LF only, one ``data:`` line) and pads the
compact JSON with 0-15 spaces before its final ``}``, except for ``ping`` which is always ``{"type": "ping"}``.
The decoder keeps each event's exact bytes so a check can compare framing, not only payloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PING_DATA = b'{"type": "ping"}'
_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event as it was on the wire."""

    name: str | None
    """The ``event:`` field, or None when the event had none."""
    data: str
    """The ``data:`` lines joined with ``\\n``, as the SSE spec and the Anthropic SDK do."""
    raw: bytes
    """The event's exact bytes, including its terminating blank line."""
    arrived_at: float | None = None
    """Wall-clock time the event's last byte arrived, when the reader recorded it."""

    def json(self) -> Any:
        """The ``data`` payload parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.data)


def compact_json(value: Any) -> str:
    """Serialise like the Messages API does: compact separators, non-ASCII kept as UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode_event(name: str, payload: Any, padding: int = 0) -> bytes:
    """Encode one event the way api.anthropic.com does, with ``padding`` spaces before the final ``}``."""
    if name == "ping":
        return b"event: ping\ndata: " + PING_DATA + b"\n\n"
    body = compact_json(payload)
    if padding and body.endswith("}"):
        body = body[:-1] + " " * padding + "}"
    return f"event: {name}\ndata: {body}\n\n".encode()


def parse_event(raw: bytes, arrived_at: float | None = None) -> SseEvent:
    """Parse one event block (without requiring its terminator) into an ``SseEvent``."""
    name: str | None = None
    data_lines: list[str] = []
    text = raw.decode("utf-8", errors="replace")
    for line in re.split(r"\r\n|\r|\n", text):
        if not line or line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if key == "event":
            name = value
        elif key == "data":
            data_lines.append(value)
    return SseEvent(name=name, data="\n".join(data_lines), raw=raw, arrived_at=arrived_at)


@dataclass
class SseDecoder:
    """Incremental decoder: feed raw chunks, get complete events with their exact bytes."""

    _buffer: bytes = b""
    events: list[SseEvent] = field(default_factory=list)

    def feed(self, chunk: bytes, arrived_at: float | None = None) -> list[SseEvent]:
        """Add a chunk; return the events it completed (comment-only blocks are kept as events too)."""
        self._buffer += chunk
        done: list[SseEvent] = []
        while True:
            match = _BOUNDARY.search(self._buffer)
            if match is None:
                break
            raw, self._buffer = self._buffer[: match.end()], self._buffer[match.end() :]
            event = parse_event(raw, arrived_at)
            done.append(event)
        self.events.extend(done)
        return done

    @property
    def leftover(self) -> bytes:
        """Bytes after the last complete event (a stream cut mid-event leaves them here)."""
        return self._buffer


def decode_events(body: bytes) -> list[SseEvent]:
    """Split a whole SSE body into events; a trailing incomplete block is returned as a last event."""
    decoder = SseDecoder()
    decoder.feed(body)
    events = list(decoder.events)
    if decoder.leftover.strip():
        events.append(parse_event(decoder.leftover))
    return events


def decode_timed(chunks: Iterable[tuple[float, bytes]]) -> list[SseEvent]:
    """Decode ``(arrival_time, bytes)`` chunks; each event carries the time its last byte arrived."""
    decoder = SseDecoder()
    for at, chunk in chunks:
        decoder.feed(chunk, at)
    events = list(decoder.events)
    if decoder.leftover.strip():
        events.append(parse_event(decoder.leftover))
    return events


def event_names(events: Iterable[SseEvent]) -> list[str]:
    """The ``event:`` names in order, skipping comment-only blocks."""
    return [e.name for e in events if e.name is not None]


def assemble_message(events: Iterable[SseEvent]) -> dict[str, Any]:
    """The message a Messages stream adds up to, as the SDK accumulates it: ``message_start``'s message, each
    block from its start plus its deltas (text, tool input JSON, thinking, signature, citations), then
    ``message_delta``'s stop fields and usage. A tool input that does not parse is kept as ``<unparseable: …>``."""
    message: dict[str, Any] = {"content": []}
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for event in events:
        if not event.data or event.name not in _MESSAGE_EVENTS:
            continue
        try:
            payload = event.json()
        except ValueError:
            continue
        if event.name == "message_start":
            message = dict(payload.get("message") or {})
        elif event.name == "content_block_start":
            blocks[payload.get("index", 0)] = json.loads(json.dumps(payload.get("content_block") or {}))
        elif event.name == "content_block_delta":
            index, delta = payload.get("index", 0), payload.get("delta") or {}
            block = blocks.setdefault(index, {})
            kind = delta.get("type")
            if kind == "input_json_delta":
                partial[index] = partial.get(index, "") + str(delta.get("partial_json", ""))
            elif kind == "citations_delta":
                block.setdefault("citations", []).append(delta.get("citation"))
            elif kind in _APPENDED:
                field_name = _APPENDED[kind]
                block[field_name] = block.get(field_name, "") + str(delta.get(field_name, ""))
        elif event.name == "message_delta":
            message.update(payload.get("delta") or {})
            message["usage"] = {**(message.get("usage") or {}), **(payload.get("usage") or {})}
            if "context_management" in payload:
                message["context_management"] = payload["context_management"]
    for index, text in partial.items():
        try:
            blocks[index]["input"] = json.loads(text) if text else {}
        except ValueError:
            blocks[index]["input"] = f"<unparseable: {text[:80]}>"
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


_MESSAGE_EVENTS = {"message_start", "content_block_start", "content_block_delta", "message_delta"}
_APPENDED = {"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature"}
