"""Recorded API exchanges (``fixtures/recordings/``, or a user's ``--recordings DIR``): cassettes of vcrpy, Ruby
VCR and go-vcr, and HAR files (``_cassette_formats``), each interaction a ``Recording``.

Bodies come as a string, as a binary gzip blob when the recorder kept the wire bytes, or (pydantic-ai's recorder) as
a re-serialised ``parsed_body``; requests may carry a string ``content`` or block lists, an assistant prefill, any
headers, or be for any endpoint. Loading never trusts the file: a malformed one is a ``CassetteError`` naming the
file and what is wrong with it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ._cassette_formats import SUFFIXES, RawExchange, read
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


def _recording(name: str, index: int, raw: RawExchange) -> Recording:
    headers = Headers(raw.headers)
    return Recording(name=name, index=index, method=raw.method, uri=raw.uri, request_headers=raw.request_headers,
                     request_body=raw.request_body, status=raw.status, headers=headers.without(*_FRAMING),
                     body=raw.body, byte_exact=raw.byte_exact,
                     chunked=any(k.lower() == "transfer-encoding" for k, _ in raw.headers))


def cassette_path(name: str, directory: Path) -> Path | None:
    """The file of cassette ``name`` in ``directory`` (any recorder's suffix), or None."""
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        return None
    return next((p for p in (directory / f"{name}{s}" for s in SUFFIXES) if p.is_file()), None)


@functools.lru_cache(maxsize=128)
def load(name: str, directory: Path = RECORDINGS_DIR) -> tuple[Recording, ...]:
    """Every interaction of cassette ``name`` in ``directory`` (vcrpy, Ruby VCR, go-vcr or HAR);
    FileNotFoundError for an unknown name, CassetteError for a file that is none of them."""
    path = cassette_path(name, directory)
    if path is None:
        raise FileNotFoundError(name)
    try:
        _, exchanges = read(path)
        return tuple(_recording(name, i, raw) for i, raw in enumerate(exchanges))
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
        raise CassetteError(f"recording {path}: {str(exc).splitlines()[0]}") from None


def names(directory: Path = RECORDINGS_DIR) -> list[str]:
    """Names of every cassette in ``directory``, whatever recorder wrote it."""
    return sorted({p.stem for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file()}) \
        if directory.is_dir() else []


def load_directory(directory: Path) -> tuple[Recording, ...]:
    """Every interaction of every cassette in ``directory``; CassetteError when the directory has none or one file
    is not a cassette (a user's ``--recordings DIR`` is checked whole before anything starts)."""
    if not directory.is_dir():
        raise CassetteError(f"recordings {directory}: not a directory")
    found = names(directory)
    if not found:
        raise CassetteError(f"recordings {directory}: no cassettes ({', '.join('*' + s for s in SUFFIXES)})")
    return tuple(r for name in found for r in load(name, directory))


def find(spec: str, directories: Iterable[Path] = (RECORDINGS_DIR,)) -> Recording:
    """The interaction named ``NAME[:N]`` (N defaults to 0), from the first directory that has NAME."""
    name, _, index = spec.partition(":")
    for directory in directories:
        if cassette_path(name, directory) is not None:
            return load(name, directory)[int(index or 0)]
    raise FileNotFoundError(name)
