"""Verdicts a check can reach for one target, and the one table every report, the gate and the expectations use.

* pass            - every assertion held
* pass-nonstrict  - every ``must`` held, a ``should`` did not (e.g. JSON-equal but not byte-identical)
* fail            - a ``must`` did not hold
* info            - an observation only (``info`` checks never fail)
* unsupported     - the path declares it lacks a feature the check needs, or the upstream is not observable
* error           - the harness or the environment failed (path not started, unreachable, timed out)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"
    PASS_NONSTRICT = "pass-nonstrict"
    FAIL = "fail"
    INFO = "info"
    UNSUPPORTED = "unsupported"
    ERROR = "error"


@dataclass(frozen=True)
class VerdictStyle:
    """How a verdict is shown and weighed."""

    symbol: str
    colour: str
    """Background of its matrix.html cell."""
    rank: int
    """How bad it is, for run-to-run diffs and the upgrade gate: 0 fine, 1 partial, 2 broken."""
    needs_reason: bool
    """True when the verdict must be explained: unlisted, it is a regression; listed, it needs a reason."""


VERDICTS: dict[Verdict, VerdictStyle] = {
    Verdict.PASS: VerdictStyle("✅", "#cdeccd", 0, False),
    Verdict.PASS_NONSTRICT: VerdictStyle("🟡", "#f4ecb0", 1, True),
    Verdict.FAIL: VerdictStyle("❌", "#f3c0c0", 2, True),
    Verdict.INFO: VerdictStyle("ℹ️", "#dde6f4", 0, False),
    Verdict.UNSUPPORTED: VerdictStyle("➖", "#e6e6e6", 0, False),
    Verdict.ERROR: VerdictStyle("⚠️", "#f1d1a5", 2, True),
}

QUIET = frozenset(v.value for v, style in VERDICTS.items() if not style.needs_reason)
"""Verdicts nobody has to explain: pass, info, unsupported."""
LISTABLE = tuple(v.value for v, style in VERDICTS.items() if style.needs_reason)
"""Verdicts an expectations file may list: pass-nonstrict, fail, error."""


def style(verdict: str) -> VerdictStyle:
    """The table row of a verdict given as text (as results.json holds it)."""
    return VERDICTS[Verdict(verdict)]
