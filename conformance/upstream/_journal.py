"""The upstream's journal: exactly what each path sent it and what it sent back, chunk by chunk."""

from __future__ import annotations

import base64
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..core._encoding import decode_body, decoded_chunks
from ..core._wire import Headers


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
