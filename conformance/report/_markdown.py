"""``findings.md``: the run as a decision note. Its first screen holds the TL;DR, the spike's questions answered and
the options' verdicts; below come the recommendation, what was not answered, evidence, sources and environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..clients._contract import load_contract
from ..core._evidence import body_text
from ..core._verdict import VERDICTS, Verdict
from ..results._expectations import CONTRADICTED, Status
from ._decision import ABSENT, BLOCKED, CAVEATS, NO, OPEN, SYMBOL, UNDECIDED, WORKS, YES, Decision, label, short
from ._performance import performance_markdown
from ._readable import clean, one_line, readable_body
from ._spec import Spike, load_spike
from ._timeline import timeline_lines

CONTRACT_CHECKS = tuple(dict.fromkeys(c for clause in load_contract().clauses for c in clause.checks))
"""Every check the contract table maps a clause to (fixtures/contract/claude-code-gateway.yaml)."""
COST_CHART = "cost.svg"
_OPTION_SYMBOL = {WORKS: "✅ works", CAVEATS: "🟡 works with caveats", UNDECIDED: "⚠️ not decided",
                  BLOCKED: "❌ does not work", ABSENT: "➖ not run"}


def _cell(text: str) -> str:
    return clean(text).replace("|", "\\|")


def _ids(checks: list[str], most: int = 4) -> str:
    shown = ", ".join(f"`{c}`" for c in checks[:most])
    return (shown + (f" +{len(checks) - most} more" if len(checks) > most else "")) or "—"


def _names(targets: list[str], most: int = 8) -> str:
    shown = ", ".join(f"`{t}`" for t in targets[:most])
    return shown + (f" +{len(targets) - most} more" if len(targets) > most else "")


def _run_line(document: dict[str, Any], compared: list[dict[str, Any]], spike: Spike) -> str:
    run = document["run"]
    checks = len({r["check"] for r in compared})
    regressions = [r for r in compared if r["status"] in CONTRADICTED]
    where = Path(spike.path).name if spike.path else "built-in"
    return (f"Run `{run['id']}` · {run['date']} · against the {run['upstream_mode']} upstream · harness "
            f"{run['harness_version']} ({(run.get('git_sha') or 'no git')[:10]}) · {len(run['targets'])} target(s) × "
            f"{checks} checks · questions: `{where}` · "
            + (f"**{len(regressions)} result(s) differ from the expectations files**" if regressions
               else "every failure is listed in the expectations files with its reason"))


def _tldr(decision: Decision, document: dict[str, Any], compared: list[dict[str, Any]]) -> str:
    parts = []
    direct = [r for r in compared if r["target"] == "direct" and r["verdict"] in ("fail", "error")]
    if any(r["status"] != Status.EXPECTED for r in direct):
        parts.append("**`direct` itself failed: the reference upstream or a check is wrong, so read nothing else "
                     "here before fixing that.**")
    by_verdict: dict[str, list[Any]] = {}
    for verdict in decision.options:
        by_verdict.setdefault(verdict.verdict, []).append(verdict)
    for verdict in by_verdict.get(WORKS, []):
        assert verdict.best is not None
        parts.append(f"**Works:** {verdict.option.name}, on {label(decision.targets[verdict.best.target])}.")
    for verdict in by_verdict.get(CAVEATS, []):
        assert verdict.best is not None
        caveat = decision.rows[verdict.best.target][verdict.best.caveats[0]]
        reason = (caveat.get("expected") or {}).get("reason") or caveat["message"]
        parts.append(f"**Works with caveats:** {verdict.option.name}, on "
                     f"{label(decision.targets[verdict.best.target])}: {short(reason, 12)}.")
    for kind, word in ((BLOCKED, "Does not work"), (UNDECIDED, "Not decided")):
        for verdict in by_verdict.get(kind, []):
            assert verdict.best is not None
            parts.append(f"**{word}:** {verdict.option.name} — {decision.blocking_fact(verdict)} on "
                         f"{label(decision.targets[verdict.best.target])}.")
    absent = by_verdict.get(ABSENT, [])
    if absent:
        parts.append(f"Not run here: {', '.join(v.option.name.split(' ')[0] for v in absent)}.")
    kinds = [a.kind for a in decision.answers]
    parts.append(f"Questions: {kinds.count(YES)} yes, {kinds.count(NO)} no, {kinds.count(OPEN)} not answered.")
    if not decision.options:
        parts.insert(0, f"{len(document['run']['targets'])} target(s) measured; this question file weighs no "
                     "options.")
    return " ".join(parts)


def _questions(decision: Decision) -> list[str]:
    lines = ["| Question | Answer |", "|---|---|"]
    for answer in decision.answers:
        lines.append(f"| {_cell(answer.question.ask)} | {SYMBOL[answer.kind]} — {_cell(one_line(answer.line, 300))} |")
    return lines


def _options(decision: Decision, performance: dict[str, Any]) -> list[str]:
    if not decision.options:
        return []
    lines = ["| Option | Verdict | Blocking (must) | Caveats (should) | Added latency p50 / first token | "
             "Measured on |", "|---|---|---|---|---|---|"]
    for verdict in decision.options:
        best = verdict.best
        if best is None:
            lines.append(f"| {_cell(verdict.option.name)} | {_OPTION_SYMBOL[ABSENT]} | — | — | — | none of "
                         f"{_names(list(verdict.option.targets))} ran |")
            continue
        perf = performance.get(best.target) or {}
        cost = (f"+{perf['added_latency_ms']['p50']} ms / +{perf.get('added_first_token_ms', {}).get('p50', '-')} ms"
                if "added_latency_ms" in perf else "not measured (`--perf`)")
        blocking = _ids(best.blocking) + (f"; open: {_cell(best.open[0])}" if best.open and not best.blocking else "")
        lines.append(f"| {_cell(verdict.option.name)} | {_OPTION_SYMBOL[verdict.verdict]} | {blocking} | "
                     f"{_ids(best.caveats)} | {cost} | {label(decision.targets[best.target])} |")
    return lines


def _recommendation(decision: Decision) -> list[str]:
    if not decision.spike.tracks:
        return []
    verdicts = {v.option.id: v for v in decision.options}
    lines = ["## Recommendation", ""]
    for track in decision.spike.tracks:
        chosen = next((verdicts[o] for o in track.prefer if verdicts[o].verdict in (WORKS, CAVEATS)), None)
        passed_over = [verdicts[o] for o in track.prefer[:track.prefer.index(chosen.option.id) if chosen else None]]
        text = f"- **{track.name}:** "
        if chosen is not None and chosen.best is not None:
            text += f"{chosen.option.name} — {chosen.verdict} on {label(decision.targets[chosen.best.target])}."
            if chosen.best.caveats:
                text += f" Still to settle: {_ids(chosen.best.caveats, 3)} (should-level; see Evidence)."
            if passed_over:
                text += " Preferred before it: "
        elif all(o.best is None for o in passed_over):
            text += "none of its options ran here: "
        else:
            text += "no option of this track works in this run: "
        text += "; ".join(f"{o.option.name.split(' ')[0]} " + ("was not run here" if o.best is None else
                                                              f"{o.verdict}, {decision.blocking_fact(o)}")
                          for o in passed_over) + ("." if passed_over else "")
        lines.append(text)
    return lines + [""]


def _not_answered(compared: list[dict[str, Any]]) -> list[str]:
    gaps = [r for r in compared if r["verdict"] in ("unsupported", "error")]
    if not gaps:
        return ["Every check applied to every target."]
    reasons: dict[str, list[dict[str, Any]]] = {}
    for row in gaps:
        key = ("harness error: " if row["verdict"] == "error" else "") + row["message"]
        reasons.setdefault(key, []).append(row)
    lines = []
    for reason, rows in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        targets = list(dict.fromkeys(r["target"] for r in rows))
        checks = list(dict.fromkeys(r["check"] for r in rows))
        lines.append(f"- {one_line(reason, 160)} — {_names(targets, 6)} · {_ids(checks, 5)}")
    return lines


def _glance(decision: Decision, compared: list[dict[str, Any]]) -> list[str]:
    shown = [Verdict.PASS, Verdict.PASS_NONSTRICT, Verdict.FAIL, Verdict.ERROR, Verdict.UNSUPPORTED]
    lines = ["| Target | What it is | " + " | ".join(VERDICTS[v].symbol for v in shown) + " | Failing |",
             "|---|---|" + "---|" * len(shown) + "---|"]
    for name, target in decision.targets.items():
        mine = [r for r in compared if r["target"] == name]
        counts = [sum(r["verdict"] == v.value for r in mine) for v in shown]
        failing = [r["check"] for r in mine if r["verdict"] in ("fail", "error")]
        lines.append(f"| {label(target)} | {_cell(str(target.get('mode', '')))} | "
                     + " | ".join(str(n) for n in counts) + f" | {_ids(failing, 3)} |")
    direct = [r for r in compared if r["target"] == "direct" and r["verdict"] in ("fail", "error")]
    if direct and all(r["status"] == Status.EXPECTED for r in direct):
        lines += ["", f"`direct` fails only its negative control(s), as designed: "
                  f"{', '.join(sorted({'`' + r['check'] + '`' for r in direct}))}."]
    return lines


def _evidence(compared: list[dict[str, Any]], blobs: dict[str, str]) -> list[str]:
    """One block per check and message, every target it happened on named once; full exchanges in matrix.html."""
    order = {Status.REGRESSION: 0, Status.UNEXPECTED_PASS: 0, Status.EXPECTED: 1, Status.OK: 2}
    rank = {"fail": 0, "error": 1, "pass-nonstrict": 2}
    failures = [r for r in compared if r["verdict"] in rank]
    failures.sort(key=lambda r: (order.get(r["status"], 2), rank[r["verdict"]]))
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in failures:
        groups.setdefault((row["check"], row["verdict"], row["message"]), []).append(row)
    if not groups:
        return ["No check failed.", ""]
    lines: list[str] = []
    for (check, verdict, message), rows in groups.items():
        first = rows[0]
        lines += [f"### `{check}` — {verdict} on {_names([r['target'] for r in rows])}", ""]
        expected = first.get("expected")
        if expected:
            lines.append(f"Known: {one_line(expected['reason'], 300)}"
                         + (f" ({expected['issue']})" if expected.get("issue") else ""))
        elif first["status"] == Status.REGRESSION:
            lines.append("**New failure: this target has no expectations file yet.**"
                         if not first.get("target_has_expectations") else "**Not in the expectations: a regression.**")
        failed = [f for f in first["findings"] if not f["ok"]]
        lines += ["", *(f"- {one_line(f['message'], 160)}: expected `{_cell(one_line(f.get('expected'), 80))}`, "
                        f"got `{_cell(one_line(f.get('actual'), 80))}`" for f in failed[:2])]
        if not failed:
            lines.append(f"- {one_line(message, 300)}")
        lines.append(_exchange_line(first["evidence"], blobs))
        lines.append("")
    return [line for line in lines if line is not None]


def _exchange_line(evidence: dict[str, Any], blobs: dict[str, str]) -> str | None:
    """The path's own last exchange (never the direct comparison a check also made) and what the upstream got."""
    exchanges = [ex for ex in evidence.get("exchanges") or [] if isinstance(ex, dict) and not ex.get("direct")]
    upstream = [u for u in evidence.get("upstream") or [] if isinstance(u, dict)]
    if not exchanges:
        return None
    request, response = exchanges[-1]["request"], exchanges[-1]["response"]
    error = f" ({one_line(response['error'], 120)})" if response.get("error") else ""
    line = f"- `{request['method']} {request['url']}` → `{response['status']}`{error}"
    if upstream:
        received = upstream[-1]["received"]
        query = f"?{received['query']}" if received.get("query") else ""
        line += f"; upstream received `{received['method']} {received['path']}{query}`"
    return line + f"; body: {_cell(readable_body(body_text(response.get('body'), blobs), 100))}"


def _sources(document: dict[str, Any], compared: list[dict[str, Any]]) -> list[str]:
    by_source: dict[str, list[str]] = {}
    for check in document.get("checks") or []:
        # One line per document: its sections (§3.1, #clause) are the checks' own business.
        source = re.sub(r"(\.ya?ml|\.md)#[\w.-]+", r"\1", str(check.get("source") or "").split(" §")[0]).strip()
        if source:
            by_source.setdefault(source, []).append(check["id"])
    for row in compared:
        issue = (row.get("expected") or {}).get("issue")
        if issue:
            by_source.setdefault(issue, []).append(f"{row['check']}@{row['target']}")
    lines = []
    for source, users in by_source.items():
        users = list(dict.fromkeys(users))
        lines.append(f"- {source} — {_ids(users, 3)}")
    return lines or ["No source recorded."]


def incomplete_banner(run: dict[str, Any]) -> str | None:
    """One sentence saying the run is partial, or None for a whole run (older results have no ``complete``)."""
    if run.get("complete", True):
        return None
    missing = run.get("not_run") or []
    how = "it was interrupted" if run.get("interrupted") else "it ended early"
    listed = ", ".join(f"{m['check']}@{m['target']}" for m in missing[:8]) + (" …" if len(missing) > 8 else "")
    return (f"INCOMPLETE RUN: {len(missing)} selected check(s) did not run because {how}; every answer below "
            f"covers only what ran. Not run: {listed}")


def findings_markdown(document: dict[str, Any], compared: list[dict[str, Any]], spike: Spike | None = None,
                      *, cost_chart: bool = False) -> str:
    """The findings note for ``spike`` (default: the project's spike #3 questions); ``cost_chart`` links the
    cost chart written beside it."""
    spike = spike or load_spike()
    decision = Decision(spike, document, compared, CONTRACT_CHECKS)
    run = document["run"]
    performance = document.get("performance") or {}
    banner = incomplete_banner(run)
    lines = [f"# {spike.title} — findings", "", _run_line(document, compared, spike), "",
             *([f"> **⚠️ {banner}**", ""] if banner else []),
             "## TL;DR", "", _tldr(decision, document, compared), "",
             "## What this spike answered", "", *_questions(decision), ""]
    options = _options(decision, performance)
    if options:
        lines += ["## Options", "", *options, ""]
    lines += _recommendation(decision)
    if performance:
        lines += performance_markdown(performance)
        if cost_chart:
            lines += [f"![Added latency against concurrency, path − direct]({COST_CHART})", ""]
    lines += ["## What this spike did not answer", "", *_not_answered(compared), "",
              "## Every target at a glance", "", *_glance(decision, compared), "",
              "## Evidence", "", "Each failure once, bodies decoded; every exchange in full is in matrix.html.", "",
              *_evidence(compared, document.get("blobs") or {}),
              *_timeline_section(compared),
              "## Sources", "", *_sources(document, compared), "",
              "## Environment", "",
              f"- Upstream: {run['upstream_mode']} (the reference upstream is a local api.anthropic.com tested "
              "against real recordings)",
              f"- anthropic SDK: {run['anthropic_sdk_version']}; Claude Code: {run.get('claude_code_version')}; "
              f"TypeScript SDK: {run.get('ts_sdk_version')}; Python: {run.get('python')}", "",
              "| target | family | version | mode | ready (s) | RSS (MB) |", "|---|---|---|---|---|---|"]
    for t in run["targets"]:
        lines.append(f"| `{t['name']}` | {t['family']} | {t['version']} | {_cell(str(t['mode']))} | "
                     f"{t.get('startup_to_ready_s', '-')} | {t.get('rss_mb', '-')} |")
    return "\n".join(clean_lines(lines)) + "\n"


def _timeline_section(compared: list[dict[str, Any]]) -> list[str]:
    rows = timeline_lines(compared)
    return ["## LiteLLM releases", "", *rows, ""] if rows else []


def clean_lines(lines: list[str]) -> list[str]:
    """Every line free of control characters (a tab or a stray byte never reaches the note)."""
    return [clean(line) for line in lines]
