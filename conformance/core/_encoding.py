"""The one place bodies lose their ``Content-Encoding``: whole, or chunk by chunk with each chunk's arrival time.

A gzip stream flushed per event decodes chunk by chunk, so every SSE event keeps the time its own bytes arrived;
decoding the whole body at once would stamp every event with the last chunk's time and hide buffering.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

Chunks = list[tuple[float, bytes]]


def encodings(header: str | None) -> list[str]:
    """The codings of a ``Content-Encoding`` value, in the order they were applied (``identity`` dropped)."""
    return [c.strip().lower() for c in (header or "").split(",") if c.strip() and c.strip().lower() != "identity"]


class ContentDecoder:
    """Incremental decoder for ``gzip``/``x-gzip``/``deflate``; unknown codings pass through unchanged."""

    def __init__(self, header: str | None) -> None:
        self.codings = encodings(header)
        self._stages = [self._stage(c) for c in reversed(self.codings)]
        self.failed = False
        """True once the bytes did not decode (a broken or mislabelled body); the rest then passes raw."""

    @staticmethod
    def _stage(coding: str) -> zlib._Decompress | None:  # type: ignore[name-defined]
        if coding in ("gzip", "x-gzip"):
            return zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
        if coding == "deflate":
            return zlib.decompressobj(wbits=15)
        return None

    def feed(self, data: bytes) -> bytes:
        """Decode the next raw bytes; returns whatever decoded output they completed."""
        if self.failed:
            return data
        for stage in self._stages:
            if stage is None:
                continue
            try:
                data = stage.decompress(data)
            except zlib.error:
                if stage is self._stages[0] and self.codings == ["deflate"]:  # raw deflate without zlib header
                    self._stages[0] = zlib.decompressobj(wbits=-15)
                    return self.feed(data)
                self.failed = True
                return data
        return data

    def flush(self) -> bytes:
        if self.failed:
            return b""
        out = b""
        for stage in self._stages:
            if stage is not None:
                out = stage.decompress(out) + stage.flush() if out else stage.flush()
        return out


def decode_body(raw: bytes, header: str | None) -> bytes:
    """``raw`` with its ``Content-Encoding`` removed; the raw bytes when they do not decode."""
    if not encodings(header):
        return raw
    decoder = ContentDecoder(header)
    out = decoder.feed(raw) + decoder.flush()
    return raw if decoder.failed else out


def decoded_chunks(chunks: Iterable[tuple[float, bytes]], header: str | None) -> Chunks:
    """``(arrival time, decoded bytes)`` per raw chunk; a chunk that completes no output yields none."""
    chunks = list(chunks)
    if not encodings(header):
        return chunks
    decoder = ContentDecoder(header)
    out: Chunks = []
    for at, data in chunks:
        decoded = decoder.feed(data)
        if decoded:
            out.append((at, decoded))
    tail = decoder.flush()
    if tail:
        out.append((chunks[-1][0] if chunks else 0.0, tail))
    return out
