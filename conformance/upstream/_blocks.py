"""Content blocks as the model builds them: the block as streamed (start + deltas) and as it ends up (final)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Block:
    """One content block and the pieces it is streamed in."""

    start: dict[str, Any]
    """The block as ``content_block_start`` announces it."""
    final: dict[str, Any]
    """The block as it appears in a non-streaming ``content`` list."""
    deltas: list[dict[str, Any]] = field(default_factory=list)


def split(text: str, parts: int) -> list[str]:
    """Cut ``text`` into ``parts`` non-empty pieces (fewer if the text is shorter)."""
    parts = max(1, min(parts, len(text)))
    size, extra = divmod(len(text), parts)
    pieces, pos = [], 0
    for i in range(parts):
        step = size + (1 if i < extra else 0)
        pieces.append(text[pos : pos + step])
        pos += step
    return pieces


def text_block(pieces: list[str], citations: list[dict[str, Any]] | None = None) -> Block:
    """A text block streamed as ``pieces``; with ``citations`` each is announced by a ``citations_delta`` first
    and the block starts with ``"citations": []`` (the key order of the 2025-11 web-search recording)."""
    if citations is None:
        return Block(
            start={"type": "text", "text": ""},
            final={"type": "text", "text": "".join(pieces)},
            deltas=[{"type": "text_delta", "text": p} for p in pieces],
        )
    return Block(
        start={"citations": [], "type": "text", "text": ""},
        final={"citations": citations, "type": "text", "text": "".join(pieces)},
        deltas=[{"type": "citations_delta", "citation": c} for c in citations]
        + [{"type": "text_delta", "text": p} for p in pieces],
    )


def input_deltas(value: Any) -> list[dict[str, Any]]:
    """``input_json_delta`` pieces of a tool input: the API's first one is often empty, the rest small chunks."""
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    chunks = [""] + [encoded[i : i + 12] for i in range(0, len(encoded), 12)]
    return [{"type": "input_json_delta", "partial_json": c} for c in chunks]
