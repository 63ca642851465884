"""The drift watch's wire half: what a client release sends, read from the reference upstream's journal, and what a
newer release sends that an older one did not (endpoints, header names, betas, versions, body fields)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..upstream import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN, JournalEntry, ReferenceUpstream

# Below these keys a body holds content (a tool's schema, a message's text), not protocol: their inside is not listed.
_OPAQUE = frozenset({"input_schema", "input", "text", "thinking", "signature", "data", "content_text", "properties"})
_MAX_DEPTH = 6


@dataclass(frozen=True)
class WireProfile:
    """What one client release sent: every request's endpoint, header names, betas, version and body field paths."""

    endpoints: frozenset[str] = frozenset()
    headers: frozenset[str] = frozenset()
    betas: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()
    body_fields: frozenset[str] = frozenset()
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"requests": self.requests, **{k: sorted(getattr(self, k)) for k in KINDS}}


KINDS = ("endpoints", "headers", "betas", "versions", "body_fields")
KIND_NAMES = {"endpoints": "endpoint", "headers": "header", "betas": "beta", "versions": "anthropic-version",
              "body_fields": "body field"}


@dataclass(frozen=True)
class WireChange:
    """One thing the newer release sends that the older one did not (``added``), or no longer sends."""

    kind: str
    value: str
    added: bool

    def line(self) -> str:
        return f"{'sends' if self.added else 'no longer sends'} {KIND_NAMES[self.kind]} `{self.value}`"


def profile(entries: Iterable[JournalEntry]) -> WireProfile:
    """The wire profile of ``entries`` (everything one client release sent the upstream)."""
    sets: dict[str, set[str]] = {k: set() for k in KINDS}
    count = 0
    for entry in entries:
        count += 1
        query = sorted({part.split("=", 1)[0] for part in entry.query.split("&") if part})
        sets["endpoints"].add(f"{entry.method} {entry.path}" + (f"?{'&'.join(query)}" if query else ""))
        sets["headers"].update(name.lower() for name in entry.headers.names())
        sets["betas"].update(entry.headers.betas())
        sets["versions"].update(entry.headers.get_all("anthropic-version"))
        body = _json_body(entry)
        if isinstance(body, dict):
            sets["body_fields"].update(_paths(body, ""))
    return WireProfile(**{k: frozenset(v) for k, v in sets.items()}, requests=count)


def wire_changes(old: WireProfile, new: WireProfile) -> list[WireChange]:
    """What ``new`` sends that ``old`` did not (first), then what it no longer sends."""
    added = [WireChange(k, v, True) for k in KINDS for v in sorted(getattr(new, k) - getattr(old, k))]
    removed = [WireChange(k, v, False) for k in KINDS for v in sorted(getattr(old, k) - getattr(new, k))]
    return added + removed


@dataclass
class ClientProbe:
    """One client release made to talk to a private reference upstream: ``talk(base_url, api_key, oauth_token)``
    makes its requests; their journal entries are its profile."""

    client: str
    version: str
    talk: Callable[[str, str, str], None]
    errors: list[str] = field(default_factory=list)


def observe(probe: ClientProbe) -> WireProfile:
    """The profile of everything ``probe`` sends to a fresh reference upstream of its own."""
    with ReferenceUpstream() as upstream:
        try:
            probe.talk(upstream.base_url, DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN)
        except Exception as exc:  # a client that cannot run is reported beside whatever it did send
            probe.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        return profile(upstream.journal.entries())


def _json_body(entry: JournalEntry) -> Any:
    raw = entry.body
    encoding = (entry.headers.get("content-encoding") or "").lower()
    try:
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        return json.loads(raw) if raw else None
    except (OSError, zlib.error, ValueError):
        return None


def _paths(value: Any, prefix: str, depth: int = 0) -> set[str]:
    out: set[str] = set()
    if depth >= _MAX_DEPTH:
        return out
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.add(path)
            if key not in _OPAQUE:
                out |= _paths(inner, path, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            out |= _paths(inner, f"{prefix}[]", depth + 1)
    return out


def write_profiles(path: Path, profiles: dict[str, dict[str, Any]]) -> None:
    path.write_text(json.dumps(profiles, indent=1, sort_keys=True) + "\n")
