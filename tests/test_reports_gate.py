"""
Reports (findings.md, matrix.html, junit.xml), expectations files, run diff and the upgrade gate.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.report import write_reports
from conformance.results import _expectations as expectations
from conformance.results._diff import diff_runs, gate

ROOT = Path(__file__).resolve().parents[1]


def _document(results: list[tuple[str, str, str]], versions: dict[str, str] | None = None) -> dict:
    versions = versions or {}
    targets = sorted({t for _, t, _ in results})
    return {
        "kind": "EgressConformanceResults", "version": 1,
        "run": {"id": "run-test", "harness_version": "0", "git_sha": None, "date": "2026-11-26T00:00:00Z",
                "upstream_mode": "reference", "anthropic_sdk_version": "2", "python": "3.11",
                "targets": [{"name": t, "family": "x", "mode": "m", "version": versions.get(t, "-"),
                             "features": []} for t in targets]},
        "checks": [{"id": c, "title": f"{c}?", "level": "must", "requirement": "r", "source": "s", "features": [],
                    "location": "x.py:1"} for c in sorted({c for c, _, _ in results})],
        "results": [{"check": c, "target": t, "verdict": v, "message": f"{c} was {v}", "duration_ms": 1,
                     "level": "must", "findings": [{"ok": v == "pass", "level": "must", "message": "m",
                                                    "expected": 1, "actual": 2}],
                     "evidence": {"exchanges": [{"label": "x", "direct": False, "request": {
                         "method": "POST", "url": "http://gw/v1/messages", "headers": [], "body": "{}"},
                         "response": {"status": 500, "headers": [], "body": "oops", "error": None, "chunks": 1}}]}}
                    for c, t, v in results],
    }


@pytest.fixture
def expectations_dir(tmp_path, monkeypatch):
    directory = tmp_path / "expectations"
    directory.mkdir()
    monkeypatch.setattr(expectations, "EXPECTATIONS_DIR", directory)
    return directory


def test_classify_follows_the_strict_rules():
    """
    Listed and equal is expected; unlisted failure is a regression; listed but passing is an unexpected pass.
    """
    listed = expectations.Expectation("a.b", "fail", "known")
    assert expectations.classify("fail", listed) == "expected"
    assert expectations.classify("pass", listed) == "unexpected-pass"
    assert expectations.classify("error", listed) == "regression"
    assert expectations.classify("fail", None) == "regression"
    assert expectations.classify("pass-nonstrict", None) == "regression"
    assert expectations.classify("unsupported", None) == "ok"


def test_release_ranges_and_target_keys():
    """
    Release ranges apply per version; the version option is not part of the expectations key.
    """
    assert expectations.in_range("1.90.1", ">=1.80,<1.100") and not expectations.in_range("1.110.2", "<1.110")
    assert expectations.target_key("litellm[key=server-oauth,version=1.90.1]") == "litellm[key=server-oauth]"
    assert expectations.file_for("litellm[key=server-oauth]").name == "litellm.key=server-oauth.yaml"


def test_update_then_compare_round_trip(expectations_dir):
    """
    --update-expectations writes what the run saw; the same run then has no regression, a fixed one is flagged.
    """
    document = _document([("a.one", "gw", "fail"), ("a.two", "gw", "pass")])
    (path,) = expectations.update(document)
    assert "a.one" in path.read_text() and "a.two" not in path.read_text()
    assert {r["status"] for r in expectations.compare(document)} == {"expected", "ok"}
    fixed = _document([("a.one", "gw", "pass"), ("a.two", "gw", "pass")])
    assert [r["status"] for r in expectations.compare(fixed)] == ["unexpected-pass", "ok"]


def test_malformed_expectations_file_names_the_file(expectations_dir):
    """
    An entry without a reason is rejected with the file's name.
    """
    (expectations_dir / "gw.yaml").write_text("expectations:\n- check: a.one\n  verdict: fail\n")
    with pytest.raises(ValueError, match="gw.yaml"):
        expectations.load("gw")


def test_reports_are_written_and_readable(expectations_dir, tmp_path):
    """
    findings.md answers the spike's questions with evidence; junit.xml has one case per check x target.
    """
    document = _document([("errors.envelope-valid", "gw", "fail"), ("errors.envelope-valid", "direct", "pass"),
                          ("sse.not-buffered", "gw", "pass"), ("sse.not-buffered", "direct", "pass"),
                          ("egress.allowlist-sni", "gw", "unsupported")])
    paths = write_reports(document, tmp_path, expectations.compare(document))
    findings = (tmp_path / "findings.md").read_text()
    assert "## TL;DR" in findings and "| Question | Answer |" in findings and "## Options" in findings
    assert "| `gw` | m | 1 | 0 | 1 | 0 | 1 | `errors.envelope-valid` |" in findings
    assert "### `errors.envelope-valid` — fail on `gw`" in findings
    assert "New failure: this target has no expectations file" in findings
    assert "## What this spike did not answer" in findings and "`egress.allowlist-sni`" in findings
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) == 5
    assert len(suites.findall(".//failure")) == 1 and len(suites.findall(".//skipped")) == 1
    html = (tmp_path / "matrix.html").read_text()
    assert "<details>" in html and "http://" not in html.split("<body>")[0]
    assert {p.name for p in paths} == {"findings.md", "matrix.html", "junit.xml"}


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_matrix_renders_in_headless_chromium(expectations_dir, tmp_path):
    """
    matrix.html renders from the file with no server, and the screenshot shows the coloured matrix.
    """
    from PIL import Image

    rows = [(f"area.check-{i}", t, v) for i in range(12) for t, v in (("direct", "pass"), ("gw", "fail"))]
    write_reports(_document(rows), tmp_path, expectations.compare(_document(rows)))
    shot = tmp_path / "matrix.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900",
                    f"--screenshot={shot}", (tmp_path / "matrix.html").as_uri()],
                   capture_output=True, timeout=90, check=False)
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    counts = {rgb: n for n, rgb in colours}
    assert counts.get((0xCD, 0xEC, 0xCD), 0) > 2000, "no pass cells visible"
    assert counts.get((0xF3, 0xC0, 0xC0), 0) > 2000, "no fail cells visible"


def test_diff_and_gate(expectations_dir):
    """
    The diff sorts changes into regressed/improved; the gate fails on a regression from the baseline release.
    """
    before = _document([("a.one", "litellm", "pass"), ("a.two", "litellm", "fail")])
    after = _document([("a.one", "litellm", "fail"), ("a.two", "litellm", "pass"), ("a.three", "litellm", "pass")])
    changes = diff_runs(before, after)
    assert [r["check"] for r in changes.regressed] == ["a.one"]
    assert [r["check"] for r in changes.improved] == ["a.two"] and changes.added == ["a.three"]
    run = _document([("a.one", "litellm[version=1.0.0]", "pass"), ("a.one", "litellm[version=2.0.0]", "fail")],
                    versions={"litellm[version=1.0.0]": "1.0.0", "litellm[version=2.0.0]": "2.0.0"})
    code, lines = gate(run, "1.0.0", "2.0.0")
    assert code == 1 and any("pass → fail" in line for line in lines)
    steady = _document([("a.one", "litellm[version=1.0.0]", "pass"), ("a.one", "litellm[version=2.0.0]", "pass")],
                       versions={"litellm[version=1.0.0]": "1.0.0", "litellm[version=2.0.0]": "2.0.0"})
    assert gate(steady, "1.0.0", "2.0.0")[0] == 0
    assert gate(steady, "1.0.0", "9.9.9")[0] == 2


def test_diff_command_line(tmp_path):
    """
    python -m conformance diff A B prints the comparison; a missing run is one error line.
    """
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_document([("a.one", "gw", "pass")])))
    b.write_text(json.dumps(_document([("a.one", "gw", "fail")])))
    out = subprocess.run([sys.executable, "-m", "conformance", "diff", str(a), str(b)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "1 regressed" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "conformance", "diff", str(a), str(tmp_path / "nope")],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and missing.stderr.startswith("error:") and "Traceback" not in missing.stderr


def test_direct_failing_only_its_negative_control_raises_no_alarm(expectations_dir, tmp_path):
    """
    direct's open sandbox fails egress.direct-blocked by design: listed in its expectations, the TL;DR names it a
    negative control; any other failure of direct still tells the reader to trust nothing else in the report.
    """
    (expectations_dir / "direct.yaml").write_text("target: direct\nexpectations:\n- check: egress.direct-blocked\n"
                                                  "  verdict: fail\n  reason: the negative control\n")
    controlled = _document([("egress.direct-blocked", "direct", "fail"), ("a.one", "direct", "pass")])
    write_reports(controlled, tmp_path, expectations.compare(controlled))
    findings = (tmp_path / "findings.md").read_text()
    assert "itself failed" not in findings
    assert "`direct` fails only its negative control(s), as designed: `egress.direct-blocked`." in findings
    broken = _document([("egress.direct-blocked", "direct", "fail"), ("a.one", "direct", "fail")])
    write_reports(broken, tmp_path, expectations.compare(broken))
    assert "**`direct` itself failed" in (tmp_path / "findings.md").read_text()


def test_the_gate_compares_the_release_a_team_runs_not_only_the_pin():
    """
    ``nox -s gate`` takes the team's baseline (``--baseline``, the pin when absent) and gates it against the new
    release; the example workflow triggers on the team's pin file and takes the baseline from the pull request's
    base and the candidate from its head.
    """
    import ast

    import yaml

    source = (ROOT / "noxfile.py").read_text()
    gate_session = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == "gate")
    body = ast.get_source_segment(source, gate_session) or ""
    assert '_option(list(session.posargs), "--baseline") or LITELLM_VERSION' in body
    assert '"gate", report_dir, "--baseline", old, "--candidate", new' in body
    workflow = yaml.safe_load((ROOT / ".github/workflows/litellm-gate.yml").read_text())
    trigger = workflow[True]["pull_request"]["paths"]  # YAML 1.1 reads the key `on` as True
    assert trigger == ["deploy/litellm/VERSION"]
    steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["gate"]["steps"])
    assert "pull_request.base.sha }}:deploy/litellm/VERSION" in steps and "head.sha }}:deploy/litellm/VERSION" in steps
    assert "--baseline=${{ steps.pin.outputs.baseline }}" in steps
