"""Evidence that fits: passes keep what was compared (sizes, digests, counts, timings), failures keep excerpts,
and every body excerpt is stored once per results document and referenced where it is used."""

from __future__ import annotations

import hashlib
import re
import zlib
from typing import Any

# Keys under which checks store request/response records (``exchange_evidence``, ``entry_evidence``).
_RECORDS = ("exchanges", "upstream")
_BULKY = ("headers", "body")
BLOB_MIN = 200
"""Body excerpts shorter than this stay inline; longer ones go to the document's ``blobs`` table."""


PASS_LIST = 5
"""A pass keeps this many items of any list of records or texts in its evidence (numbers are kept whole)."""
PASS_FINDINGS = 6
"""A pass keeps this many of its findings' messages, then one line counting the rest."""
FAIL_RECORDS = 12
"""A failure keeps this many request/response records whole (headers, bodies); the rest as one line each."""
PASS_TEXT = 240
"""A pass keeps this many characters of any text in its evidence."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def trim(evidence: dict[str, Any], *, full: bool) -> dict[str, Any]:
    """``evidence`` as a result keeps it: whole for a failure (past its first records, each further one as a line);
    for a pass, each request/response record as one line of sizes and digests (what was compared stays on record),
    long lists and texts cut with a count."""
    if full:
        return {k: v[:FAIL_RECORDS] + [record_line(r) if isinstance(r, dict) else r for r in v[FAIL_RECORDS:]]
                if k in _RECORDS and isinstance(v, list) else v for k, v in evidence.items()}
    out: dict[str, Any] = {}
    for key, value in evidence.items():
        if key in _RECORDS and isinstance(value, list):
            out[key] = _cap([record_line(r) if isinstance(r, dict) else r for r in value])
        else:
            out[key] = _compact(value)
    return out


def record_line(record: dict[str, Any]) -> str:
    """One exchange or journal record as a line: ``label: POST /v1/messages 126 B #5ef2b2df → 200 470 B #4de2485f``."""
    sent = record.get("request") or record.get("received") or {}
    got = record.get("response") or record.get("sent") or {}
    where = sent.get("path") or re.sub(r"^https?://[^/]+", "", str(sent.get("url") or ""))
    query = f"?{sent['query']}" if sent.get("query") else ""
    line = (f"{sent.get('method', '?')} {where}{query} {sent.get('bytes', '?')} B #{str(sent.get('sha256', ''))[:8]}"
            f" → {got.get('status')} {got.get('bytes', '?')} B #{str(got.get('sha256', ''))[:8]}")
    if got.get("error"):
        line += f" ({got['error']})"
    if got.get("completed") is False:
        line += " (not completed)"
    prefix = ("direct " if record.get("direct") else "") + (f"{record['label']}: " if record.get("label") else "")
    return prefix + line


def _compact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if k not in _BULKY and v is not None}
    if isinstance(value, list):
        if all(isinstance(v, (int, float)) for v in value):  # a timing series stays whole
            return value
        return _cap([_compact(v) for v in value])
    if isinstance(value, str) and len(value) > PASS_TEXT:
        return value[:PASS_TEXT] + f"… ({len(value)} characters)"
    return value


def _cap(items: list[Any]) -> list[Any]:
    return items if len(items) <= PASS_LIST else items[:PASS_LIST] + [f"… {len(items) - PASS_LIST} more"]


def body_excerpt(data: bytes, limit: int = 2048) -> str:
    """``data`` as readable text for evidence: gzip decoded (a cut stream says so), text as text, anything else
    described (``312 bytes of binary data``), never raw bytes or control characters."""
    note = ""
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(wbits=47)
        try:
            decoded = inflater.decompress(data, limit * 4)
        except zlib.error:
            return f"{len(data)} bytes of gzip that do not decode"
        cut = not inflater.eof and not inflater.unconsumed_tail
        note = f"[{len(data)} bytes of gzip{', cut mid-stream' if cut else ''}; decoded:] "
        data = decoded
    try:
        text = data[:limit].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < limit - 4:  # not merely a character cut at the limit
            return note + f"{len(data)} bytes of binary data"
        text = data[:exc.start].decode("utf-8")
    if len(_CONTROL.findall(text)) > max(2, len(text) // 50):
        return note + f"{len(data)} bytes of binary data"
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return note + text + (f"… ({len(data)} bytes)" if len(data) > limit else "")


def trim_findings(findings: list[dict[str, Any]], *, full: bool) -> list[dict[str, Any]]:
    """A pass keeps each finding's message and outcome; a failure keeps expected/actual of the failed ones."""
    if full:
        return [f if not f["ok"] else {k: v for k, v in f.items() if k not in ("expected", "actual")}
                for f in findings]
    kept = [{k: v for k, v in f.items() if k not in ("expected", "actual")} for f in findings[:PASS_FINDINGS]]
    if len(findings) > PASS_FINDINGS:
        rest = findings[PASS_FINDINGS:]
        kept.append({"ok": all(f["ok"] for f in rest), "level": rest[0]["level"],
                     "message": f"… {len(rest)} more finding(s), not kept for a pass"})
    return kept


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
