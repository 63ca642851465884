"""Verdicts a check can reach for one target.

* pass            - every assertion held
* pass-nonstrict  - every ``must`` held, a ``should`` did not (e.g. JSON-equal but not byte-identical)
* fail            - a ``must`` did not hold
* info            - an observation only (``info`` checks never fail)
* unsupported     - the path declares it lacks a feature the check needs, or the upstream is not observable
* error           - the harness or the environment failed (path not started, unreachable, timed out)
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"
    PASS_NONSTRICT = "pass-nonstrict"
    FAIL = "fail"
    INFO = "info"
    UNSUPPORTED = "unsupported"
    ERROR = "error"

