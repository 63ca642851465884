"""Answers and option verdicts derived from a run's results and a spike file; nothing here names a target.

A question is answered on a target only by the checks that ask it: any of them failing is a *no*, all of them
having run and held is a *yes*, and anything else (a check unsupported there, errored, or not run) leaves it *open*
with the reason. An option takes the best of its targets: *works*, *works with caveats* (should-level findings),
*not decided* (a question it needs is open there, or a check errored), *does not work* (a must-level failure).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from ..checks import REGISTRY
from ..results._expectations import target_key
from ._spec import Option, Question, Spike

YES, NO, OPEN = "yes", "no", "open"
SYMBOL = {YES: "✅ Yes", NO: "❌ No", OPEN: "⚠️ Not answered"}
WORKS, CAVEATS, UNDECIDED, BLOCKED, ABSENT = "works", "works with caveats", "not decided", "does not work", "not run"
_OPTION_ORDER = (WORKS, CAVEATS, UNDECIDED, BLOCKED, ABSENT)
_RAN = ("pass", "pass-nonstrict", "fail", "info")


def expand_checks(patterns: tuple[str, ...], known: list[str], contract: tuple[str, ...] = ()) -> list[str]:
    """Check ids from a question's ``checks``: exact ids, ``area.*`` globs, ``@contract`` (every contract check)."""
    out: list[str] = []
    for pattern in patterns:
        if pattern == "@contract":
            out += list(contract)
        elif any(ch in pattern for ch in "*?"):
            out += fnmatch.filter(known, pattern)
        else:
            out.append(pattern)
    return list(dict.fromkeys(out))


def short(text: str, words: int = 18) -> str:
    """The first clause or sentence of ``text``, at most ``words`` words (an ellipsis says it was cut)."""
    text = " ".join(str(text).split())
    first = re.split(r"(?<=[.;])\s|; ", text, maxsplit=1)[0].rstrip(".;")
    parts = first.split(" ")
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def label(target: dict[str, Any]) -> str:
    """``name`` (family release) as a reader wants it, e.g. ```litellm` (litellm 1.108.7)``."""
    version = target.get("version")
    what = f"{target.get('family')} {version}" if version and version != "-" else ""
    return f"`{target['name']}`" + (f" ({what})" if what and what != target["name"] else "")


def where(targets: list[dict[str, Any]]) -> str:
    """Targets named once each, their release said once per family and release: ```a`, `b` (litellm 1.108.7)``."""
    groups: dict[str, list[str]] = {}
    for target in targets:
        version = target.get("version")
        release = f"{target.get('family')} {version}" if version and version != "-" else ""
        groups.setdefault(release, []).append(f"`{target['name']}`")
    return ", ".join(", ".join(names) + (f" ({release})" if release else "") for release, names in groups.items())


def sentence_case(text: str) -> str:
    """``text`` to follow a dash mid-sentence: a leading capital of an ordinary word lowered."""
    word = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if len(word) > 1 and word[1:].isalpha() and word[1:].islower() else text


@dataclass
class TargetAnswer:
    target: str
    kind: str
    text: str
    check: str | None = None
    caveats: list[str] = field(default_factory=list)


@dataclass
class Answer:
    question: Question
    kind: str
    line: str
    by_target: list[TargetAnswer]


@dataclass
class OptionOnTarget:
    target: str
    verdict: str
    blocking: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    open: list[str] = field(default_factory=list)


@dataclass
class OptionVerdict:
    option: Option
    verdict: str
    best: OptionOnTarget | None
    variants: list[OptionOnTarget]


class Decision:
    """Everything the first screen says, computed once from ``compared`` rows (results with their expectation
    status) for one spike."""

    def __init__(self, spike: Spike, document: dict[str, Any], compared: list[dict[str, Any]],
                 contract_checks: tuple[str, ...] = ()) -> None:
        self.spike = spike
        self.targets = {t["name"]: t for t in document["run"]["targets"]}
        self.rows: dict[str, dict[str, dict[str, Any]]] = {}
        for row in compared:
            self.rows.setdefault(row["target"], {})[row["check"]] = row
        # Globs expand over every registered check, so a check this run did not select leaves its question open.
        known = list(dict.fromkeys([*REGISTRY, *(c["id"] for c in document.get("checks") or [])]))
        self.checks = {q.id: expand_checks(q.checks, known, contract_checks) for q in spike.questions}
        self.answers = [self._answer(q) for q in spike.questions]
        self.options = [self._option(o) for o in spike.options]

    # -- questions ------------------------------------------------------------------------------------------

    def answer_on(self, question: Question, target: str) -> TargetAnswer:
        rows = self.rows.get(target, {})
        cells = [(c, rows.get(c)) for c in self.checks[question.id]]
        if not cells:
            return TargetAnswer(target, OPEN, "no registered check asks it")
        failed = [r for _, r in cells if r is not None and r["verdict"] == "fail"]
        if failed:
            return TargetAnswer(target, NO, short(failed[0]["message"], 16), failed[0]["check"])
        missing = [(c, r) for c, r in cells if r is None or r["verdict"] not in _RAN]
        if missing:
            check, row = missing[0]
            why = "not run in this run" if row is None else (
                f"harness error: {short(row['message'])}" if row["verdict"] == "error" else short(row["message"], 24))
            return TargetAnswer(target, OPEN, f"`{check}` {why}", check)
        caveats = [r["check"] for _, r in cells if r is not None and r["verdict"] == "pass-nonstrict"]
        return TargetAnswer(target, YES, question.yes or f"{len(cells)} check(s) held", None, caveats)

    def _answer(self, question: Question) -> Answer:
        asked = [t for t in self.targets if target_key(t) in question.targets]
        if not asked:
            return Answer(question, OPEN, f"not asked of any target in this run (it asks of "
                          f"{', '.join(f'`{t}`' for t in question.targets)})", [])
        by = [self.answer_on(question, t) for t in asked]
        kinds = {a.kind for a in by}
        if question.yes_when == "any" and YES in kinds:
            kind = YES
        elif NO in kinds:
            kind = NO
        elif YES in kinds:
            kind = YES
        else:
            kind = OPEN
        lead = [a for a in by if a.kind == kind]
        first = lead[0]
        on = where([self.targets[a.target] for a in lead])
        if kind == YES:
            line = f"on {on}: {first.text}"
            caveats = sorted({c for a in lead for c in a.caveats})
            if caveats:
                line += f" (should-level caveat: {', '.join(f'`{c}`' for c in caveats)})"
        elif kind == NO:
            line = f"on {label(self.targets[first.target])}: {first.text} (`{first.check}`)"
        else:
            line = f"on {on}: {first.text}"
        for other in (NO, OPEN, YES):
            rest = [a for a in by if a.kind == other and a.kind != kind]
            if rest:
                word = {NO: "no", OPEN: "not answered", YES: "yes"}[other]
                line += f"; {word} on {', '.join(f'`{a.target}`' for a in rest)}"
                if other != YES:
                    line += f" ({short(rest[0].text, 10)})"
        return Answer(question, kind, line, by)

    # -- options --------------------------------------------------------------------------------------------

    def _on_target(self, option: Option, target: str) -> OptionOnTarget:
        rows = self.rows.get(target, {})
        blocking = [c for c, r in rows.items() if r["verdict"] == "fail"]
        caveats = [c for c, r in rows.items() if r["verdict"] == "pass-nonstrict"]
        errored = [c for c, r in rows.items() if r["verdict"] == "error"]
        opened = []
        for question_id in option.needs:
            answer = self.answer_on(self.spike.question(question_id), target)
            if answer.kind == OPEN:
                opened.append(f"{question_id}: {answer.text}")
        opened += [f"`{c}` errored" for c in errored]
        verdict = BLOCKED if blocking else UNDECIDED if opened else CAVEATS if caveats else WORKS
        return OptionOnTarget(target, verdict, blocking, caveats, opened)

    def _option(self, option: Option) -> OptionVerdict:
        variants = [self._on_target(option, t) for t in self.targets if target_key(t) in option.targets]
        if not variants:
            return OptionVerdict(option, ABSENT, None, [])
        best = min(variants, key=lambda v: (_OPTION_ORDER.index(v.verdict), len(v.blocking), len(v.caveats)))
        return OptionVerdict(option, best.verdict, best, variants)

    def blocking_fact(self, verdict: OptionVerdict) -> str:
        """The one fact that rules an option out: its first blocking check, in the words of the expectation's reason
        when the failure is known, else the check's own message."""
        assert verdict.best is not None
        if not verdict.best.blocking:
            return short(verdict.best.open[0]) if verdict.best.open else ""
        row = self.rows[verdict.best.target][verdict.best.blocking[0]]
        expected = row.get("expected") or {}
        known = f", known for releases {expected['releases']}" if expected.get("releases") else ""
        return sentence_case(f"{short(expected.get('reason') or row['message'], 16)} (`{row['check']}`{known})")
