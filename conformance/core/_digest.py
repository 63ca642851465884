"""Digests that prove two bodies equal without keeping them: bytes, and JSON whatever its spacing and key order."""

from __future__ import annotations

import hashlib
import json


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_sha256(data: bytes) -> str | None:
    """The digest of ``data``'s JSON in one canonical form (sorted keys, no spaces), or None when it is not JSON:
    equal for a body a path re-serialised without changing a value."""
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
