"""
The decision report: a spike's questions and options as data, each answer only from the checks that ask it, the
first screen short enough to decide on, the size budgets of a 10-target run, and no control character anywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance.checks import REGISTRY
from conformance.clients._contract import load_contract
from conformance.core._exceptions import InputError
from conformance.core._fixtures import FIXTURES_DIR
from conformance.report import load_spike, write_reports
from conformance.report._decision import BLOCKED, CAVEATS, NO, OPEN, UNDECIDED, WORKS, YES, Decision
from conformance.results import _expectations as expectations
from conformance.results._document import write_results

from ._harness import run_checklist

ROOT = Path(__file__).resolve().parents[1]
TEAM = ROOT / "tests" / "questions" / "team-spike.yaml"
SPIKE3 = ROOT / "reports" / "spike-3" / "results.json"
LOCAL_MATRIX = ["direct", "envoy", "envoy-sni", "envoy-connect", "envoy-defaults", "litellm",
                "litellm[key=server-oauth]", "litellm-unified", "shim", "shim-front"]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _row(check: str, target: str, verdict: str, message: str = "") -> dict:
    return {"check": check, "target": target, "verdict": verdict, "message": message or f"{check} {verdict}",
            "duration_ms": 1, "level": "must", "bound_s": 60.0, "queued_ms": 0,
            "findings": [{"ok": verdict != "fail", "level": "must", "message": message or "m"}], "evidence": {}}


def _document(rows: list[dict], versions: dict[str, str] | None = None) -> dict:
    targets = list(dict.fromkeys(r["target"] for r in rows))
    return {"kind": "EgressConformanceResults", "version": 1,
            "run": {"id": "run-test", "harness_version": "0", "git_sha": None, "date": "2026-12-07T00:00:00Z",
                    "upstream_mode": "reference", "anthropic_sdk_version": "2", "python": "3.11",
                    "targets": [{"name": t, "family": "fam", "mode": "m", "version": (versions or {}).get(t, "-"),
                                 "features": []} for t in targets]},
            "checks": [{"id": c, "title": c, "level": "must", "requirement": "r", "source": "https://example/doc §1",
                        "features": [], "location": "x.py:1"} for c in dict.fromkeys(r["check"] for r in rows)],
            "results": rows, "blobs": {}}


@pytest.fixture
def no_expectations(tmp_path, monkeypatch):
    monkeypatch.setattr(expectations, "EXPECTATIONS_DIR", tmp_path)


def _decide(rows: list[dict]) -> Decision:
    document = _document(rows)
    return Decision(load_spike(TEAM, set(REGISTRY)), document, expectations.compare(document))


def test_every_question_file_names_only_registered_checks():
    """
    The project's spike files and the team example load, every check they name exists (a typo is one line naming
    the file and the id), and every check the contract table names exists too.
    """
    for path in [*(FIXTURES_DIR / "questions").glob("*.yaml"), TEAM]:
        load_spike(path, set(REGISTRY))
    assert {c for clause in load_contract().clauses for c in clause.checks} <= set(REGISTRY)
    bad = TEAM.parent / "bad.yaml"
    try:
        bad.write_text("questions:\n- id: q\n  ask: a?\n  checks: [auth.no-such-check]\n  targets: [gw]\n")
        with pytest.raises(InputError, match=r"bad.yaml, question q: unknown check id\(s\) auth.no-such-check"):
            load_spike(bad, set(REGISTRY))
        bad.write_text("questions: [")
        with pytest.raises(InputError, match="bad.yaml is not YAML"):
            load_spike(bad)
    finally:
        bad.unlink()


def test_a_question_is_answered_only_by_the_checks_that_ask_it(no_expectations):
    """
    The seed's wrong answer: LiteLLM holding its own API key passes auth.header-kind-preserved, but the check that
    asks about OAuth did not run there, so the OAuth question is not answered, with the reason, never "yes".
    """
    reason = "needs oauth (oauth: key=server: the proxy injects its own API key)"
    decision = _decide([_row("auth.api-key-accepted", "gw", "pass"), _row("auth.header-kind-preserved", "gw", "pass"),
                        _row("auth.oauth-accepted", "gw", "unsupported", reason)])
    answers = {a.question.id: a for a in decision.answers}
    assert answers["oauth"].kind == OPEN and "injects its own API key" in answers["oauth"].line
    assert answers["keys-work"].kind == YES and "the upstream answered the request" in answers["keys-work"].line
    assert answers["errors-unwrapped"].kind == OPEN  # none of errors.* ran
    # And on the project's own spike file, with the seed's command (--target=litellm):
    document = _document([_row("auth.header-kind-preserved", "litellm", "pass"),
                          _row("auth.oauth-accepted", "litellm", "unsupported", reason),
                          _row("auth.oauth-beta-once", "litellm", "unsupported", reason)])
    spike3 = Decision(load_spike(), document, expectations.compare(document))
    oauth = next(a for a in spike3.answers if a.question.id == "oauth-litellm")
    assert oauth.kind == OPEN and "injects its own API key" in oauth.line


def test_a_failure_says_no_and_yes_when_any_needs_one_target(no_expectations):
    """
    ``yes_when: all`` (the default) answers no when any asked target failed; the failing check's sentence is the
    answer. The options take the best of their targets.
    """
    decision = _decide([_row("auth.api-key-accepted", "direct", "pass"),
                        _row("auth.api-key-accepted", "gw", "fail", "a request with credential kind api-key was "
                             "answered 401")])
    keys = next(a for a in decision.answers if a.question.id == "keys-work")
    assert keys.kind == NO and "answered 401" in keys.line and "`auth.api-key-accepted`" in keys.line
    verdicts = {o.option.id: o.verdict for o in decision.options}
    assert verdicts == {"keep": BLOCKED, "direct": WORKS}


@pytest.mark.parametrize("gw_rows, verdict", [
    ([("auth.api-key-accepted", "pass"), ("auth.oauth-accepted", "pass")], WORKS),
    ([("auth.api-key-accepted", "pass"), ("auth.oauth-accepted", "pass"), ("errors.body-identical",
                                                                            "pass-nonstrict")], CAVEATS),
    ([("auth.api-key-accepted", "pass"), ("auth.oauth-accepted", "unsupported")], UNDECIDED),
    ([("auth.api-key-accepted", "pass"), ("auth.oauth-accepted", "pass"), ("sse.not-buffered", "error")], UNDECIDED),
    ([("auth.api-key-accepted", "pass"), ("auth.oauth-accepted", "pass"), ("sse.not-buffered", "fail")], BLOCKED),
])
def test_option_verdicts_come_from_must_and_should_findings_and_needed_questions(no_expectations, gw_rows, verdict):
    """
    works · works with caveats (a should did not hold) · not decided (a question it needs is open there, or a check
    errored) · does not work (a must failed).
    """
    decision = _decide([_row(c, "gw", v) for c, v in gw_rows])
    assert next(o for o in decision.options if o.option.id == "keep").verdict == verdict


def test_the_team_file_writes_the_teams_report(no_expectations, tmp_path):
    """
    A team's question file decides its own options: its title, questions, option table and recommendation.
    """
    document = _document([_row("auth.api-key-accepted", "gw", "pass"), _row("auth.oauth-accepted", "gw", "pass"),
                          _row("errors.status-preserved", "gw", "pass-nonstrict", "413 became 400")],
                         versions={"gw": "2.0"})
    write_reports(document, tmp_path, expectations.compare(document), load_spike(TEAM, set(REGISTRY)))
    text = (tmp_path / "findings.md").read_text()
    first_screen = text.split("## Recommendation")[0]
    assert first_screen.startswith("# Team gateway review — findings")
    assert "| Do OAuth tokens work through the gateway? | ✅ Yes — on `gw` (fam 2.0)" in first_screen
    assert "| keep the gateway | 🟡 works with caveats |" in first_screen
    assert "**Now:** keep the gateway — works with caveats" in text


def _words(text: str) -> int:
    return len(text.split("## TL;DR", 1)[1].split("##", 1)[0].split())


def test_findings_have_no_control_characters_and_binary_is_described(no_expectations, tmp_path):
    """
    A message or a body holding control characters or undecoded bytes (an older results.json's cut gzip stream)
    never reaches findings.md raw.
    """
    row = _row("sse.long-stream-not-cut", "gw", "fail", "stream broke\x1b[31m\tbadly")
    mangled = "\x1f\ufffd\x08\x00\x00\x00\x00\x00\x00\x03t\ufffd\ufffd1O\ufffd0\x10\ufffd" * 20
    row["evidence"] = {"exchanges": [{"label": "x", "direct": False,
                                      "request": {"method": "POST", "url": "http://gw/v1/messages", "body": "{}"},
                                      "response": {"status": 200, "body": mangled, "error": "RemoteProtocolError"}}]}
    document = _document([row])
    write_reports(document, tmp_path, expectations.compare(document))
    text = (tmp_path / "findings.md").read_text()
    assert not _CONTROL.search(text), _CONTROL.search(text)
    assert "characters of undecodable binary (not shown)" in text and "\ufffd" not in text


@pytest.mark.skipif(not SPIKE3.exists(), reason="reports/spike-3 is not published")
def test_the_published_spike_report_decides_on_one_screen_within_its_budgets(tmp_path):
    """
    From the published spike #3 run, the 10 targets of the default run (`nox -s conformance`): findings.md ≤ 40 KB
    with its TL;DR ≤ 120 words, the question table and the options' verdicts before the recommendation;
    results.json ≤ 1.3 MB (1.2 MB for 90 checks; 95 now, about 13 KB each over 10 targets); matrix.html ≤ 1.5 MB;
    no control character in findings.md.
    """
    document = json.loads(SPIKE3.read_text())
    document["results"] = [r for r in document["results"] if r["target"] in LOCAL_MATRIX]
    document["run"]["targets"] = [t for t in document["run"]["targets"] if t["name"] in LOCAL_MATRIX]
    document["performance"] = {t: p for t, p in (document.get("performance") or {}).items() if t in LOCAL_MATRIX}
    used = json.dumps(document["results"])
    document["blobs"] = {k: v for k, v in document["blobs"].items() if k in used}
    assert len(document["run"]["targets"]) == 10
    write_results(document, tmp_path)
    write_reports(document, tmp_path, expectations.compare(document))
    sizes = {p.name: p.stat().st_size for p in tmp_path.iterdir()}
    assert sizes["findings.md"] <= 40_000 and sizes["results.json"] <= 1_300_000, sizes
    assert sizes["matrix.html"] <= 1_500_000, sizes
    text = (tmp_path / "findings.md").read_text()
    assert not _CONTROL.search(text)
    assert _words(text) <= 120, text.split("## TL;DR")[1][:1500]
    first_screen = text.split("## Recommendation")[0]
    assert "| Question | Answer |" in first_screen and "| Option | Verdict |" in first_screen
    assert len(first_screen.splitlines()) <= 40


def test_questions_option_on_a_real_run(tmp_path):
    """
    ``--questions FILE`` on a real run writes the team's report; a malformed file is one line before anything
    starts, no traceback.
    """
    base = ["--target=direct", "-k", "auth.api-key-accepted"]
    run, _ = run_checklist(tmp_path, *base, f"--questions={TEAM}")
    assert run.returncode == 0, run.stdout[-2000:]
    (findings,) = tmp_path.glob("run-*/findings.md")
    text = findings.read_text()
    assert text.startswith("# Team gateway review — findings")
    assert "| Do our API keys work through the gateway? | ✅ Yes — on `direct`" in text
    bad = tmp_path / "broken.yaml"
    bad.write_text("questions:\n- id: q\n  ask: a?\n  checks: [nope.check]\n  targets: [direct]\n")
    run, _ = run_checklist(tmp_path, *base, f"--questions={bad}", timeout=120)
    assert run.returncode != 0 and "unknown check id(s) nope.check" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
