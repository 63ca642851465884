"""A streamed answer written at the scenario's pace: intervals, a silent gap, a mid-stream error or a cut."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from aiohttp import web

from ..core._sse import compact_json, encode_event
from ._directive import Scenario
from ._writer import ResponseWriter

SseEvents = list[tuple[str, dict[str, Any], bool]]
"""``(event name, payload, is a content delta)`` in order."""


async def stream(writer: ResponseWriter, headers: list[tuple[str, str]], events: SseEvents, scenario: Scenario,
                 rng: random.Random) -> web.StreamResponse:
    """Write ``events`` as SSE, each padded as the API pads (0-15 spaces, or 1-15 with ``padding=nonzero``)."""
    await writer.start(200, headers)
    interval = scenario.interval / 1000.0
    if scenario.duration > 0:
        interval = scenario.duration / max(len(events) - 1, 1)
    deltas_sent = 0
    least_padding = 1 if scenario.padding == "nonzero" else 0
    for position, (name, payload, is_delta) in enumerate(events):
        if position and interval:
            await asyncio.sleep(interval)
        await writer.write(encode_event(name, payload, rng.randrange(least_padding, 16)))
        if not is_delta:
            continue
        deltas_sent += 1
        if deltas_sent == 1 and scenario.gap:
            await asyncio.sleep(scenario.gap)
        if deltas_sent == scenario.after and scenario.midstream:
            return await _midstream_error(writer, scenario.midstream)
        if deltas_sent == scenario.after and scenario.cut:
            if writer.request.transport is not None:
                writer.request.transport.abort()
            raise ConnectionResetError("scenario cut the stream")
    await writer.write(b"", last=True)
    return await writer.finish()


async def _midstream_error(writer: ResponseWriter, error_type: str) -> web.StreamResponse:
    message = "Overloaded" if error_type == "overloaded_error" else "Internal server error"
    error = {
        "type": "error",
        "error": {"details": None, "type": error_type, "message": message},
        "request_id": writer.entry.request_id,
    }
    await writer.write(f"event: error\ndata: {compact_json(error)}\n\n".encode(), last=True)
    return await writer.finish()
