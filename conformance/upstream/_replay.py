"""Recorded exchanges (vcrpy cassettes, ``conformance.core._cassettes``) served back byte for byte."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from ..core._cassettes import CassetteError, Recording, find, load, names
from ..core._fixtures import RECORDINGS_DIR
from ._problems import ApiError
from ._writer import ResponseWriter

__all__ = ["Recording", "find", "load", "names", "serve"]

async def serve(writer: ResponseWriter, spec: str, directories: Sequence[Path] = (RECORDINGS_DIR,)
                ) -> web.StreamResponse:
    """Answer with the recorded response ``NAME[:N]`` from the first of ``directories`` that has it, as it crossed
    the wire (an SSE body event by event)."""
    try:
        recording = find(spec, directories)
    except (FileNotFoundError, IndexError, ValueError, CassetteError):
        raise ApiError(404, f"recording: {spec}") from None
    writer.gzip = False
    if recording.is_sse and not recording.is_gzip:
        await writer.start(recording.status, recording.headers)
        for match in re.finditer(rb".*?\n\n|.+", recording.body, re.DOTALL):
            await writer.write(match.group(0))
        writer.entry.completed = True
    else:
        length = None if recording.chunked else len(recording.body)
        await writer.start(recording.status, recording.headers, length=length)
        await writer.write(recording.body, last=True)
    return await writer.finish()
