"""
Evidence that fits: a pass keeps what was compared without bodies, a failure keeps excerpts, bodies are pooled.
"""

from __future__ import annotations

from conformance.core._evidence import body_excerpt, body_text, pool_bodies, trim, trim_findings
from conformance.report._markdown import findings_markdown

RECORD = {"request": {"method": "POST", "url": "u", "headers": [["x-api-key", "k"]], "body": "x" * 500, "bytes": 500,
                      "sha256": "abc"},
          "response": {"status": 200, "headers": [["a", "b"]], "body": "y" * 500, "bytes": 500, "sha256": "def"}}


def test_a_pass_keeps_sizes_and_digests_but_no_bodies_or_headers():
    evidence = trim({"exchanges": [RECORD], "timing": {"p50": 1.0}, "series": list(range(100)),
                     "runs": [{"n": i, "text": "t" * 900} for i in range(20)]}, full=False)
    assert evidence["exchanges"] == ["POST u 500 B #abc → 200 500 B #def"]
    assert evidence["timing"] == {"p50": 1.0} and evidence["series"] == list(range(100))  # numbers kept whole
    assert len(evidence["runs"]) == 6 and evidence["runs"][-1] == "… 15 more"
    assert len(evidence["runs"][0]["text"]) < 300
    findings = trim_findings([{"ok": True, "level": "must", "message": "m", "expected": "e" * 900, "actual": 1}],
                             full=False)
    assert findings == [{"ok": True, "level": "must", "message": "m"}]
    many = trim_findings([{"ok": True, "level": "must", "message": f"m{i}"} for i in range(30)], full=False)
    assert len(many) == 7 and many[-1]["message"].startswith("… 24 more")


def test_a_failure_keeps_its_first_records_whole_and_the_rest_as_lines():
    evidence = trim({"exchanges": [RECORD] * 20}, full=True)
    assert evidence["exchanges"][0] == RECORD and evidence["exchanges"][11] == RECORD
    assert evidence["exchanges"][12] == "POST u 500 B #abc → 200 500 B #def"


def test_bodies_are_decoded_or_described_never_raw():
    """
    A gzip stream cut in the middle is decoded as far as it goes and says so; binary is described; no control
    character survives.
    """
    import gzip

    whole = gzip.compress(b"event: message_start\ndata: {}\n\n" * 50)
    assert body_excerpt(whole).startswith("[") and "event: message_start" in body_excerpt(whole)
    assert "cut mid-stream" in body_excerpt(whole[: len(whole) // 2])
    assert body_excerpt(bytes(range(256)) * 4) == "1024 bytes of binary data"
    assert body_excerpt(b"ok\x1b[31m") == "ok\\x1b[31m"


def test_a_failure_keeps_its_excerpts_and_identical_bodies_are_stored_once():
    results = [{"evidence": trim({"exchanges": [RECORD]}, full=True)} for _ in range(3)]
    blobs = pool_bodies(results)
    assert len(blobs) == 2  # the request and the response body, once each for three results
    ref = results[2]["evidence"]["exchanges"][0]["response"]["body"]
    assert body_text(ref, blobs) == "y" * 500


def test_findings_show_the_paths_own_exchange_not_the_direct_one():
    path = {**RECORD, "label": "through the path", "direct": False,
            "request": {**RECORD["request"], "url": "http://gateway/v1/messages"}}
    direct = {**RECORD, "label": "direct", "direct": True,
              "request": {**RECORD["request"], "url": "http://upstream/v1/messages"}}
    result = {"check": "sse.not-buffered", "target": "gw", "verdict": "fail", "message": "buffered",
              "duration_ms": 1, "level": "must", "findings": [], "evidence": {"exchanges": [path, direct]},
              "status": "regression", "expected": None, "target_has_expectations": False}
    document = {"run": {"id": "r", "date": "2026-12-01T00:00:00Z", "harness_version": "0", "git_sha": None,
                        "upstream_mode": "reference", "anthropic_sdk_version": None, "targets": [
                            {"name": "gw", "family": "x", "version": "-", "mode": "m", "features": []}]},
                "checks": [], "results": [result], "blobs": {}}
    text = findings_markdown(document, [result])
    assert "http://gateway/v1/messages" in text and "http://upstream/v1/messages" not in text
    assert "New failure" in text
