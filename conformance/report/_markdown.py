"""``findings.md``: the run as a research note — TL;DR, the answered questions, evidence, environment, gaps."""

from __future__ import annotations

import json
from typing import Any

from .._evidence import body_text
from ._performance import performance_markdown
from ._questions import QUESTIONS, answer


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _tldr(document: dict[str, Any], compared: list[dict[str, Any]]) -> str:
    targets = [t["name"] for t in document["run"]["targets"]]
    described = {t["name"]: t for t in document["run"]["targets"]}
    clean, broken, sentences = [], [], []
    for target in targets:
        mine = [r for r in compared if r["target"] == target]
        fails = [r for r in mine if r["verdict"] in ("fail", "error")]
        if not fails:
            clean.append(target)
            continue
        broken.append(target)
        questions = [q for q, checks in QUESTIONS if any(r["check"] in checks for r in fails)]
        t = described[target]
        label = f"`{target}` ({t['family']} {t['version']}, {t['mode']})"
        first = fails[0]
        sentences.append(f"{label} failed {len(fails)} of {len(mine)} checks — {', '.join(questions) or 'other'}; "
                         f"first: `{first['check']}`: {first['message'][:160]}.")
    head = (f"Against the {document['run']['upstream_mode']} upstream on {document['run']['date'][:10]}, "
            f"{len(targets)} target(s) answered {len({r['check'] for r in compared})} checks each. ")
    if clean:
        head += f"Transparent on every question this run asked: {', '.join(f'`{t}`' for t in clean)}. "
    # direct's expected failures are negative controls (its open sandbox must fail egress.direct-blocked); only an
    # unexpected one means the upstream or a check is wrong.
    direct_fails = [r for r in compared if r["target"] == "direct" and r["verdict"] in ("fail", "error")]
    if any(r["status"] != "expected" for r in direct_fails):
        head += ("**`direct` itself failed: the reference upstream or a check is wrong, so read nothing else here "
                 "before fixing that.** ")
    elif direct_fails:
        controls = sorted({"`" + r["check"] + "`" for r in direct_fails})
        head += f"`direct` fails only its negative control(s), as designed: {', '.join(controls)}. "
    regressions = [r for r in compared if r["status"] in ("regression", "unexpected-pass")]
    gate = (f"Against the expectations files: {len(regressions)} regression(s) or unexpected pass(es)."
            if regressions else "Every failure is listed in the expectations files with its reason.")
    return head + " ".join(sentences) + (" " if sentences else "") + gate


def _excerpt(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + " …"


def _evidence(result: dict[str, Any], blobs: dict[str, str]) -> list[str]:
    lines = [f"### `{result['check']}` on `{result['target']}` — {result['verdict']}", "",
             f"{result['message']}", ""]
    if result.get("expected"):
        lines += [f"Known: {result['expected']['reason']}" + (f" ({result['expected']['issue']})"
                                                             if result["expected"].get("issue") else ""), ""]
    elif result["status"] == "regression" and not result.get("target_has_expectations"):
        lines += ["**New failure: this target has no expectations file yet.**", ""]
    elif result["status"] == "regression":
        lines += ["**Not in the expectations: a regression.**", ""]
    for finding in [f for f in result["findings"] if not f["ok"]][:3]:
        lines += [f"- {finding['message']}",
                  f"  - expected: `{_cell(_excerpt(finding.get('expected'), 240))}`",
                  f"  - actual: `{_cell(_excerpt(finding.get('actual'), 240))}`"]
    # The path's own exchange, never the direct comparison the check may also have made.
    exchanges = [ex for ex in result["evidence"].get("exchanges") or [] if not ex.get("direct")]
    if exchanges:
        ex = exchanges[-1]
        request, response = ex["request"], ex["response"]
        lines += ["", f"Client → path: `{request['method']} {request['url']}`", "",
                  "```", _excerpt(body_text(request.get("body"), blobs), 400), "```",
                  f"Client received: `{response['status']}`" + (f" ({response['error']})" if response.get("error")
                                                                else ""), "",
                  "```", _excerpt(body_text(response.get("body"), blobs), 600), "```"]
    upstream = result["evidence"].get("upstream") or []
    if upstream:
        received = upstream[-1]["received"]
        headers = ", ".join(f"{k}: {v}" for k, v in (received.get("headers") or [])[:14])
        lines += [f"Upstream received: `{received['method']} {received['path']}"
                  + (f"?{received['query']}" if received.get("query") else "") + "`", "",
                  f"Headers: `{_cell(_excerpt(headers, 700))}`", ""]
    return lines + [""]


def incomplete_banner(run: dict[str, Any]) -> str | None:
    """One sentence saying the run is partial, or None for a whole run (older results have no ``complete``)."""
    if run.get("complete", True):
        return None
    missing = run.get("not_run") or []
    how = "it was interrupted" if run.get("interrupted") else "it ended early"
    listed = ", ".join(f"{m['check']}@{m['target']}" for m in missing[:8]) + (" …" if len(missing) > 8 else "")
    return (f"INCOMPLETE RUN: {len(missing)} selected check(s) did not run because {how}; every answer below "
            f"covers only what ran. Not run: {listed}")


def _incomplete(run: dict[str, Any]) -> list[str]:
    banner = incomplete_banner(run)
    return [f"> **⚠️ {banner}**", ""] if banner else []


def findings_markdown(document: dict[str, Any], compared: list[dict[str, Any]]) -> str:
    run = document["run"]
    targets = [t["name"] for t in run["targets"]]
    lines = ["# Egress conformance findings", "", f"Run `{run['id']}` · {run['date']} · harness "
             f"{run['harness_version']} ({(run.get('git_sha') or 'no git')[:10]})", "", *_incomplete(run),
             "## TL;DR", "", _tldr(document, compared), "", "## What this run answered", "",
             "| question | " + " | ".join(f"`{t}`" for t in targets) + " |",
             "|---|" + "---|" * len(targets)]
    for question, checks in QUESTIONS:
        cells = []
        for target in targets:
            symbol, words = answer([r for r in compared if r["target"] == target], checks)
            cells.append(f"{symbol} {_cell(words)}")
        lines.append(f"| {question} | " + " | ".join(cells) + " |")
    lines += ["", "✅ yes · ❌ no (a `must` failed) · ⚠️ not answered (harness or environment error) · ➖ not "
              "applicable. Every row is a group of checks; `docs/checks.md` explains each check id.", ""]
    lines += performance_markdown(document.get("performance") or {})
    failures = [r for r in compared if r["verdict"] in ("fail", "error", "pass-nonstrict")]
    lines += ["## Evidence", ""]
    if not failures:
        lines += ["No check failed.", ""]
    for result in failures:
        lines += _evidence(result, document.get("blobs") or {})
    lines += ["## Environment", "", f"- Upstream: {run['upstream_mode']} (the reference upstream is a local "
              "api.anthropic.com tested against real recordings)",
              f"- anthropic SDK: {run['anthropic_sdk_version']}; Claude Code: {run.get('claude_code_version')}; "
              f"TypeScript SDK: {run.get('ts_sdk_version')}",
              f"- Python: {run.get('python')}", "", "| target | family | version | mode | ready (s) | RSS (MB) |",
              "|---|---|---|---|---|---|"]
    for t in run["targets"]:
        lines.append(f"| `{t['name']}` | {t['family']} | {t['version']} | {_cell(t['mode'])} | "
                     f"{t.get('startup_to_ready_s', '-')} | {t.get('rss_mb', '-')} |")
    gaps = [r for r in compared if r["verdict"] == "unsupported"]
    lines += ["", "## What this run did not answer", ""]
    if not gaps:
        lines.append("Every check applied to every target.")
    reasons: dict[tuple[str, str], list[str]] = {}
    for r in gaps:
        reasons.setdefault((r["target"], r["message"]), []).append(r["check"])
    for (target, reason), checks in reasons.items():
        lines.append(f"- `{target}`: {', '.join(f'`{c}`' for c in checks)} — {reason}")
    return "\n".join(lines) + "\n"
