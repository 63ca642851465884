"""drift.md: what the newest client and LiteLLM releases change against the pinned ones, on the wire and in the
verdicts, first screen first (the one-line answer, then a row per release pair)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core._redact import redact
from ..results._diff import RunDiff
from ..run._drift import WireChange

NEW_FAILURES = ("fail", "error")


@dataclass
class ReleasePair:
    """One client (or LiteLLM) at its pinned release and at the newest one, with what changed on the wire."""

    name: str
    pinned: str
    newest: str
    changes: list[WireChange] = field(default_factory=list)
    requests: tuple[int, int] = (0, 0)
    errors: list[str] = field(default_factory=list)
    wire_observed: bool = True

    @property
    def differs(self) -> bool:
        return self.pinned != self.newest


def new_failures(verdicts: RunDiff | None) -> list[dict[str, Any]]:
    """Regressions that end in a failure or an error (a pass that became pass-nonstrict is not one)."""
    return [] if verdicts is None else [r for r in verdicts.regressed if r["after"] in NEW_FAILURES]


def drift_markdown(date: str, pairs: list[ReleasePair], verdicts: RunDiff | None, targets: str) -> str:
    """The drift report: the answer in one line, the release table, then each pair's wire changes and the verdicts."""
    failures = new_failures(verdicts)
    moved = [p for p in pairs if p.differs]
    if failures:
        answer = (f"**New failure**: {len(failures)} check(s) pass with the pinned releases and fail with the newest "
                  f"on {targets}. Do not move the pins until the path is fixed.")
    elif not moved:
        answer = "**No newer release**: every pinned release is the newest; nothing to compare."
    elif verdicts is None:
        answer = ("**Verdicts not compared** (--no-verdicts, or a run could not be made); "
                  f"{sum(len(p.changes) for p in moved)} change(s) on the wire (below).")
    else:
        changes = sum(len(p.changes) for p in moved)
        wire = (f"{changes} change(s) on the wire (below): a path that strips them would break the newest clients."
                if changes else "nothing new on the wire.")
        answer = f"**No new failure** on {targets}; {wire}"
    out = [f"# Drift watch — {date}", "", answer, "",
           "| release | pinned | newest | on the wire (new / gone) |", "|---|---|---|---|"]
    for p in pairs:
        if not p.differs:
            wire = "same release"
        elif not p.wire_observed:
            wire = "a path, not a client: see the verdicts"
        else:
            added = sum(c.added for c in p.changes)
            wire = f"{added} / {len(p.changes) - added}"
        out.append(f"| {p.name} | {p.pinned} | {p.newest} | {wire} |")
    out.append("")
    for p in moved:
        if not p.wire_observed:
            continue
        out += [f"## What {p.name} {p.newest} sends that {p.pinned} did not", "",
                f"{p.requests[0]} requests from {p.pinned}, {p.requests[1]} from {p.newest}, to the reference "
                "upstream directly.", ""]
        out += [f"- {c.line()}" for c in p.changes] or ["- nothing: the same endpoints, headers, betas and fields"]
        out += [f"- could not run: {redact(e)}" for e in p.errors]
        out.append("")
    if verdicts is not None:
        out += verdicts.lines(f"Verdicts, pinned → newest, on {targets}")
    return "\n".join(out).rstrip() + "\n"
