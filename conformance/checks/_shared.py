"""What more than one check area measures: the error sweep (one request per catalogue status, shared by every
errors.* and request_id.* check of a target) and a streamed message's content blocks."""

from __future__ import annotations

from typing import Any

from ..core._http import Exchange
from ..core._sse import assemble_message, decode_events
from ..upstream import JournalEntry
from ._context import CheckContext

STATUSES = (400, 401, 403, 404, 413, 429, 500, 529)

Sweep = dict[int, tuple[Exchange, JournalEntry | None]]


def error_sweep(ctx: CheckContext) -> Sweep:
    """One request per catalogue status through the path (shared by every errors.* check of a target)."""

    def make() -> Sweep:
        sweep: Sweep = {}
        for status in STATUSES:
            extra = {"retry_after": 7} if status in (429, 529) else {}
            exchange = ctx.reached(ctx.send(ctx.body(status=status, **extra), label=f"upstream {status}"))
            entries = ctx.upstream_entries(exchange)
            sweep[status] = (exchange, entries[-1] if entries else None)
        return sweep

    return ctx.shared("errors.sweep", make)


def streamed_blocks(data: bytes) -> list[dict[str, Any]]:
    """Content blocks rebuilt from a stream, tool inputs reassembled from their input_json_delta chunks."""
    return list(assemble_message(decode_events(data))["content"])
