"""The upstream's journal: exactly what each path sent it and what it sent back, chunk by chunk."""

from __future__ import annotations

import base64
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..core._digest import json_sha256, sha256_hex
from ..core._encoding import decode_body, decoded_chunks
from ..core._wire import Headers

# A request body over this size is journaled as its first JOURNAL_BODY_HEAD bytes and its digests: a run sends
# bodies up to the API's 32 MB through every target, and the journal is read over HTTP as JSON.
JOURNAL_BODY_LIMIT = 1 << 20
JOURNAL_BODY_HEAD = 64 << 10


@dataclass
class JournalEntry:
    """One request as received and the response as sent (times are wall-clock seconds)."""

    seq: int
    cid: str | None
    method: str
    path: str
    query: str
    headers: Headers
    """Request headers in arrival order with their original case (``entry.headers.get_all("x-api-key")``)."""
    body: bytes
    received_at: float
    sni: str | None = None
    tls: bool = False
    """True when the request came over TLS (``sni`` is then what the ClientHello named, None for none)."""
    status: int | None = None
    response_headers: Headers = field(default_factory=Headers)
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    """Every response body chunk with the time it was written to the socket."""
    request_id: str | None = None
    scenario: dict[str, str] = field(default_factory=dict)
    completed: bool = False
    """False until the whole response was written (a cut or failed stream stays False)."""
    body_length: int | None = None
    """The request body's length as received (``body`` may hold only its head: ``body_truncated``)."""
    body_sha256: str = ""
    body_json_sha256: str | None = None
    """The digest of the body's JSON in canonical form (``core._digest.json_sha256``), for a truncated body."""
    body_truncated: bool = False

    @property
    def wire_body(self) -> bytes:
        """The response body as written to the socket (still compressed when the upstream compressed it)."""
        return b"".join(chunk for _, chunk in self.chunks)

    @property
    def content_encoding(self) -> str | None:
        values = self.response_headers.get_all("content-encoding")
        return ", ".join(values) if values else None

    @property
    def response_body(self) -> bytes:
        """The response body with its content-encoding removed: what the upstream said, as a client parses it."""
        return decode_body(self.wire_body, self.content_encoding)

    @property
    def decoded_chunks(self) -> list[tuple[float, bytes]]:
        """``(send time, decoded bytes)`` per written chunk: each SSE event keeps its own send time under gzip."""
        return decoded_chunks(self.chunks, self.content_encoding)

    def __post_init__(self) -> None:
        self.headers = Headers(self.headers)
        self.response_headers = Headers(self.response_headers)
        if self.body_length is None:  # as received: digests of the whole body, then only its head is kept
            self.body_length, self.body_sha256 = len(self.body), sha256_hex(self.body)
            if len(self.body) > JOURNAL_BODY_LIMIT:
                self.body_json_sha256 = json_sha256(self.body)
                self.body, self.body_truncated = self.body[:JOURNAL_BODY_HEAD], True

    def body_json_digest(self) -> str | None:
        """``core._digest.json_sha256`` of the whole request body as received."""
        return self.body_json_sha256 if self.body_truncated else json_sha256(self.body)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form (bytes as base64) for the journal's HTTP interface."""
        return {
            "seq": self.seq,
            "cid": self.cid,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": [list(h) for h in self.headers],
            "body_b64": base64.b64encode(self.body).decode(),
            "body_length": self.body_length,
            "body_sha256": self.body_sha256,
            "body_json_sha256": self.body_json_sha256,
            "body_truncated": self.body_truncated,
            "received_at": self.received_at,
            "sni": self.sni,
            "tls": self.tls,
            "status": self.status,
            "response_headers": [list(h) for h in self.response_headers],
            "chunks": [[at, base64.b64encode(c).decode()] for at, c in self.chunks],
            "request_id": self.request_id,
            "scenario": self.scenario,
            "completed": self.completed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        return cls(
            seq=data["seq"],
            cid=data["cid"],
            method=data["method"],
            path=data["path"],
            query=data["query"],
            headers=[(k, v) for k, v in data["headers"]],
            body=base64.b64decode(data["body_b64"]),
            body_length=data.get("body_length"),
            body_sha256=data.get("body_sha256", ""),
            body_json_sha256=data.get("body_json_sha256"),
            body_truncated=data.get("body_truncated", False),
            received_at=data["received_at"],
            sni=data.get("sni"),
            tls=data.get("tls", False),
            status=data.get("status"),
            response_headers=[(k, v) for k, v in data["response_headers"]],
            chunks=[(at, base64.b64decode(c)) for at, c in data["chunks"]],
            request_id=data.get("request_id"),
            scenario=data.get("scenario", {}),
            completed=data.get("completed", False),
        )


class UpstreamJournal:
    """A bounded, thread-safe log of journal entries, looked up by correlation id."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=max_entries)
        self._lock = threading.Lock()
        self._seq = 0

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def add(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, cid: str | None = None) -> list[JournalEntry]:
        """All entries, or those with correlation id ``cid``, oldest first."""
        with self._lock:
            items = list(self._entries)
        return items if cid is None else [e for e in items if e.cid == cid]

    def last(self, cid: str | None = None) -> JournalEntry | None:
        found = self.entries(cid)
        return found[-1] if found else None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
