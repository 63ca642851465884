"""Recorded exchanges (vcrpy cassettes in ``fixtures/recordings/``), loaded and served back byte for byte."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from .._fixtures import RECORDINGS_DIR
from .._wire import Headers
from ._problems import ApiError
from ._writer import ResponseWriter

# Framing headers are the server's to write; the recorded values describe the recorder's connection.
_FRAMING = {"transfer-encoding", "content-length", "connection"}


@dataclass(frozen=True)
class Recording:
    """One recorded interaction: the request as sent and the response as received."""

    name: str
    index: int
    method: str
    uri: str
    request_headers: dict[str, list[str]]
    request_body: bytes
    status: int
    headers: Headers
    """Response headers in recorded order and case, framing headers removed."""
    body: bytes
    """Response body as it crossed the wire (still gzip when the recorder kept it compressed)."""
    byte_exact: bool
    """False when the recorder re-serialised the body (pydantic-ai ``parsed_body``)."""
    chunked: bool
    """True when the recorded response used ``Transfer-Encoding: chunked``."""

    @property
    def is_sse(self) -> bool:
        return "event-stream" in (self.headers.get("content-type") or "")

    @property
    def is_gzip(self) -> bool:
        return "gzip" in (self.headers.get("content-encoding") or "")


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _body(section: dict[str, Any]) -> tuple[bytes, bool]:
    body = section.get("body")
    if isinstance(body, dict) and "string" in body:
        return _bytes(body["string"]), True
    if "parsed_body" in section:
        return json.dumps(section["parsed_body"], separators=(",", ":"), ensure_ascii=False).encode(), False
    if isinstance(body, dict) and "parsed_body" in body:
        return json.dumps(body["parsed_body"], separators=(",", ":"), ensure_ascii=False).encode(), False
    return _bytes(body), True


@functools.lru_cache(maxsize=64)
def load(name: str, directory: Path = RECORDINGS_DIR) -> tuple[Recording, ...]:
    """Every interaction of ``directory/name.yaml``; raises FileNotFoundError for an unknown name."""
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise FileNotFoundError(name)
    path = directory / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    out = []
    for index, interaction in enumerate(data["interactions"]):
        request, response = interaction["request"], interaction["response"]
        body, exact = _body(response)
        request_body, _ = _body(request)
        raw_headers = response.get("headers") or {}
        headers = Headers((k, str(v)) for k, values in raw_headers.items() for v in values).without(*_FRAMING)
        chunked = any(k.lower() == "transfer-encoding" for k in raw_headers)
        out.append(
            Recording(
                name=name,
                index=index,
                method=request.get("method", "POST"),
                uri=request.get("uri", ""),
                request_headers={k: [str(x) for x in v] for k, v in (request.get("headers") or {}).items()},
                request_body=request_body,
                status=int(response["status"]["code"]),
                headers=headers,
                body=body,
                byte_exact=exact,
                chunked=chunked,
            )
        )
    return tuple(out)


def find(spec: str, directory: Path = RECORDINGS_DIR) -> Recording:
    """The interaction named by ``NAME[:N]`` (N defaults to 0)."""
    name, _, index = spec.partition(":")
    recordings = load(name, directory)
    return recordings[int(index or 0)]


def names(directory: Path = RECORDINGS_DIR) -> list[str]:
    """Names of every recording available for replay."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


async def serve(writer: ResponseWriter, spec: str) -> web.StreamResponse:
    """Answer with the recorded response ``NAME[:N]`` as it crossed the wire (an SSE body event by event)."""
    try:
        recording = find(spec)
    except (FileNotFoundError, IndexError, ValueError):
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
