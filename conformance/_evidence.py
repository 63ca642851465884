"""Evidence that fits: passes keep what was compared (sizes, digests, counts, timings), failures keep excerpts,
and every body excerpt is stored once per results document and referenced where it is used."""

from __future__ import annotations

import hashlib
from typing import Any

# Keys under which checks store request/response records (``exchange_evidence``, ``entry_evidence``).
_RECORDS = ("exchanges", "upstream")
_BULKY = ("headers", "body")
BLOB_MIN = 200
"""Body excerpts shorter than this stay inline; longer ones go to the document's ``blobs`` table."""


def trim(evidence: dict[str, Any], *, full: bool) -> dict[str, Any]:
    """``evidence`` as a result keeps it: whole for a failure; for a pass, each record without headers or body
    text (its sizes and digests remain, so what was compared is still on record)."""
    if full:
        return evidence
    out = dict(evidence)
    for key in _RECORDS:
        if isinstance(out.get(key), list):
            out[key] = [_slim(record) for record in out[key]]
    return out


def _slim(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _slim(v) for k, v in value.items() if k not in _BULKY}
    return value


def trim_findings(findings: list[dict[str, Any]], *, full: bool) -> list[dict[str, Any]]:
    """A pass keeps each finding's message and outcome; a failure keeps expected/actual of the failed ones."""
    if full:
        return [f if not f["ok"] else {k: v for k, v in f.items() if k not in ("expected", "actual")}
                for f in findings]
    return [{k: v for k, v in f.items() if k not in ("expected", "actual")} for f in findings]


def pool_bodies(results: list[dict[str, Any]]) -> dict[str, str]:
    """Move every long ``body`` excerpt of ``results`` into one table, replacing it with ``{"blob": key}``."""
    blobs: dict[str, str] = {}

    def visit(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k == "body" and isinstance(v, str) and len(v) >= BLOB_MIN:
                    key = hashlib.sha256(v.encode()).hexdigest()[:16]
                    blobs.setdefault(key, v)
                    out[k] = {"blob": key}
                else:
                    out[k] = visit(v)
            return out
        if isinstance(value, list):
            return [visit(v) for v in value]
        return value

    for result in results:
        result["evidence"] = visit(result["evidence"])
    return blobs


def body_text(value: Any, blobs: dict[str, str]) -> str:
    """A body excerpt, whether inline or pooled."""
    if isinstance(value, dict) and "blob" in value:
        return blobs.get(value["blob"], f"(body {value['blob']} not in this document)")
    return value if isinstance(value, str) else ""
