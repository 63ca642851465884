"""Comparing two runs (``python -m conformance diff``) and the LiteLLM upgrade gate (``python -m conformance gate``).

The gate policy lives here, not in each user's CI: it fails on a check that got worse from the baseline release to
the candidate, and on a candidate result that contradicts the expectations files (a new failure, or a listed
failure that now passes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core._verdict import style
from ._expectations import CONTRADICTED, compare, target_key


@dataclass
class RunDiff:
    regressed: list[dict[str, Any]] = field(default_factory=list)
    improved: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unpaired: list[str] = field(default_factory=list)
    """Targets of the second run with no counterpart in the first (not compared)."""

    def lines(self, title: str) -> list[str]:
        out = [f"## {title}", "",
               f"{len(self.regressed)} regressed, {len(self.improved)} improved, {len(self.changed)} changed, "
               f"{len(self.added)} added, {len(self.removed)} removed", ""]
        for name, rows in (("Regressed", self.regressed), ("Improved", self.improved), ("Changed", self.changed)):
            if rows:
                out += [f"### {name}", ""]
                out += [f"- `{r['check']}` on `{r['target']}`: {r['before']} → {r['after']} — {r['message'][:200]}"
                        for r in rows]
                out.append("")
        for name, ids in (("Added checks", self.added), ("Removed checks", self.removed),
                          ("Targets not compared (no counterpart)", self.unpaired)):
            if ids:
                out += [f"### {name}", "", ", ".join(f"`{i}`" for i in ids), ""]
        return out


def load_results(path: Path) -> dict[str, Any]:
    """A results document from a results.json path or a report directory (its newest run)."""
    if path.is_dir():
        found = sorted(path.glob("**/results.json"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise FileNotFoundError(f"no results.json under {path}")
        path = found[-1]
    return json.loads(path.read_text())


def diff(before: list[dict[str, Any]], after: list[dict[str, Any]], pair: dict[str, str] | None = None) -> RunDiff:
    """Compare results per (check, target); ``pair`` maps an ``after`` target to its ``before`` target."""
    pair = pair or {}
    old = {(r["check"], r["target"]): r for r in before}
    result = RunDiff()
    before_targets = {r["target"] for r in before}
    result.unpaired = sorted({r["target"] for r in after} - before_targets - set(pair))
    for row in after:
        key = (row["check"], pair.get(row["target"], row["target"]))
        previous = old.get(key)
        if previous is None:
            continue
        a, b = previous["verdict"], row["verdict"]
        if a == b:
            continue
        entry = {"check": row["check"], "target": row["target"], "before": a, "after": b, "message": row["message"]}
        if style(b).rank > style(a).rank:
            result.regressed.append(entry)
        elif style(b).rank < style(a).rank:
            result.improved.append(entry)
        else:
            result.changed.append(entry)
    before_ids, after_ids = {r["check"] for r in before}, {r["check"] for r in after}
    result.added = sorted(after_ids - before_ids)
    result.removed = sorted(before_ids - after_ids)
    return result


def diff_runs(a: dict[str, Any], b: dict[str, Any]) -> RunDiff:
    """Two results documents, targets paired by name, else by name without the version option."""
    names_a = {r["target"] for r in a["results"]}
    pair = {}
    for target in {r["target"] for r in b["results"]}:
        if target not in names_a:
            matches = [t for t in names_a if target_key(t) == target_key(target)]
            if len(matches) == 1:
                pair[target] = matches[0]
    return diff(a["results"], b["results"], pair)


# A candidate whose added p50 latency or per-event delay grows past this ratio of the baseline's (and past the run's
# noise floor) is a regression of cost.
OVERHEAD_RATIO = 1.5


def overhead_growth(document: dict[str, Any], pair: dict[str, str]) -> list[str]:
    """Each candidate target whose measured overhead grew past OVERHEAD_RATIO of its baseline target's, in the same
    run (``--perf``); nothing when the run measured no performance."""
    performance = document.get("performance") or {}
    lines = []
    for candidate, baseline in pair.items():
        new, old = performance.get(candidate) or {}, performance.get(baseline) or {}
        if "added_latency_ms" not in new or "added_latency_ms" not in old:
            continue
        noise = max(new.get("noise_floor_ms", {}).get("p95", 0.0), old.get("noise_floor_ms", {}).get("p95", 0.0))
        for figure in ("added_latency_ms", "added_event_gap_ms"):
            was, now = old[figure]["p50"], new[figure]["p50"]
            if now > max(was, 0.0) * OVERHEAD_RATIO + noise:
                lines.append(f"`{candidate}`: {figure} p50 {now:g} ms against {was:g} ms on `{baseline}` "
                             f"(noise floor {noise:g} ms)")
    return lines


def gate(document: dict[str, Any], baseline: str, candidate: str, expectations_dir: Path | None = None
         ) -> tuple[int, list[str]]:
    """Exit code and report lines for a run holding each LiteLLM target at ``baseline`` and at ``candidate``."""
    versions = {t["name"]: t.get("version") for t in document["run"]["targets"]}
    before = [r for r in document["results"] if versions.get(r["target"]) == baseline]
    after = [r for r in document["results"] if versions.get(r["target"]) == candidate]
    if not before or not after:
        return 2, [f"error: the run has no targets at both {baseline} and {candidate} (targets: "
                   f"{', '.join(sorted(versions))})"]
    by_key = {target_key(r["target"]): r["target"] for r in before}
    pair = {r["target"]: by_key.get(target_key(r["target"]), r["target"]) for r in after}
    changes = diff(before, after, pair)
    compared = [r for r in compare(document, expectations_dir) if versions.get(r["target"]) == candidate]
    contradicted = [r for r in compared if r["status"] in CONTRADICTED]
    lines = [f"# LiteLLM upgrade gate: {baseline} → {candidate}", ""]
    lines += changes.lines(f"{candidate} against {baseline}")
    lines += ["## Against the expectations files", ""]
    lines += [f"- {r['status']}: `{r['check']}` on `{r['target']}` is {r['verdict']}"
              + (f" (listed as {r['expected']['verdict']}: {r['expected']['reason'][:120]})" if r["expected"] else
                 f" — {r['message'][:160]}") for r in contradicted] or ["Every candidate result matches them."]
    costlier = overhead_growth(document, pair)
    if costlier:
        lines += ["", "## What the candidate costs", "", *[f"- {line}" for line in costlier]]
    failed = bool(changes.regressed or contradicted or costlier)
    lines += ["", f"**Gate: {'FAIL' if failed else 'PASS'}** — fails on a regression from {baseline}, on a result "
              "that contradicts the expectations (a new failure, or a listed failure that now passes), or (with "
              f"--perf) on overhead that grew more than {OVERHEAD_RATIO:g}x."]
    return (1 if failed else 0), lines
