"""Recorded API exchanges in vcrpy's cassette format (``fixtures/recordings/``, or a user's ``--recordings DIR``).

A cassette is YAML with ``interactions[].request/response``. Bodies come as a string, as a ``!!binary`` gzip blob
when the recorder kept the wire bytes, or (pydantic-ai's recorder) as a re-serialised ``parsed_body``; requests may
carry a string ``content`` or block lists, an assistant prefill, any headers. Loading never trusts the file: a
malformed cassette is a ``CassetteError`` naming the file and what is wrong with it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ._encoding import decode_body
from ._exceptions import InputError
from ._fixtures import RECORDINGS_DIR
from ._wire import Headers

# Framing headers are the server's to write; the recorded values describe the recorder's connection.
_FRAMING = {"transfer-encoding", "content-length", "connection"}


class CassetteError(InputError):
    """A cassette that cannot be read: not YAML, no interactions, or an interaction without its parts."""


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

    @property
    def decoded_body(self) -> bytes:
        """The response body without its content-encoding, as a client parses it."""
        return decode_body(self.body, self.headers.get("content-encoding")) if self.body[:2] == b"\x1f\x8b" \
            else self.body

    @property
    def target(self) -> str:
        """Path and query of the recorded request (``/v1/messages?beta=true``)."""
        url = urlsplit(self.uri)
        return (url.path or "/") + (f"?{url.query}" if url.query else "")

    @property
    def spec(self) -> str:
        """``NAME:N``, how a replay directive names this interaction."""
        return f"{self.name}:{self.index}"


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


def _interaction(name: str, index: int, interaction: Any) -> Recording:
    if not isinstance(interaction, dict) or not isinstance(interaction.get("request"), dict) \
            or not isinstance(interaction.get("response"), dict):
        raise ValueError(f"interaction {index} has no request and response")
    request, response = interaction["request"], interaction["response"]
    status = response.get("status")
    if not isinstance(status, dict) or not isinstance(status.get("code"), int):
        raise ValueError(f"interaction {index} has no response status code")
    raw_headers = response.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise ValueError(f"interaction {index}: response headers are not a mapping")
    body, exact = _body(response)
    request_body, _ = _body(request)
    headers = Headers((str(k), str(v)) for k, values in raw_headers.items() for v in _listed(values))
    return Recording(
        name=name,
        index=index,
        method=str(request.get("method", "POST")),
        uri=str(request.get("uri", "")),
        request_headers={str(k): [str(x) for x in _listed(v)] for k, v in (request.get("headers") or {}).items()},
        request_body=request_body,
        status=status["code"],
        headers=headers.without(*_FRAMING),
        body=body,
        byte_exact=exact,
        chunked=any(str(k).lower() == "transfer-encoding" for k in raw_headers),
    )


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


@functools.lru_cache(maxsize=128)
def load(name: str, directory: Path = RECORDINGS_DIR) -> tuple[Recording, ...]:
    """Every interaction of ``directory/name.yaml``; FileNotFoundError for an unknown name, CassetteError for a
    file that is not a cassette."""
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise FileNotFoundError(name)
    path = directory / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text())
        interactions = data.get("interactions") if isinstance(data, dict) else None
        if not isinstance(interactions, list) or not interactions:
            raise ValueError("no interactions")
        return tuple(_interaction(name, i, item) for i, item in enumerate(interactions))
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
        raise CassetteError(f"recording {path}: {str(exc).splitlines()[0]}") from None


def names(directory: Path = RECORDINGS_DIR) -> list[str]:
    """Names of every cassette in ``directory``."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_directory(directory: Path) -> tuple[Recording, ...]:
    """Every interaction of every cassette in ``directory``; CassetteError when the directory has none or one file
    is not a cassette (a user's ``--recordings DIR`` is checked whole before anything starts)."""
    if not directory.is_dir():
        raise CassetteError(f"recordings {directory}: not a directory")
    found = names(directory)
    if not found:
        raise CassetteError(f"recordings {directory}: no *.yaml cassettes")
    return tuple(r for name in found for r in load(name, directory))


def find(spec: str, directories: Iterable[Path] = (RECORDINGS_DIR,)) -> Recording:
    """The interaction named ``NAME[:N]`` (N defaults to 0), from the first directory that has NAME."""
    name, _, index = spec.partition(":")
    for directory in directories:
        if (directory / f"{name}.yaml").is_file():
            return load(name, directory)[int(index or 0)]
    raise FileNotFoundError(name)
