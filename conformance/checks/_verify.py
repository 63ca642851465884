"""Named comparisons (h2spec's verifiers): what a check observed against its reference — what the client sent, what
the upstream sent, what the same request gave direct — recorded as one finding with expected and actual.

A check states the comparison and its message; the verifier records the finding and returns whether it held, so
"sent X, upstream got Y" reads the same in every area.
"""

from __future__ import annotations

from typing import Any

from ..core._http import Exchange
from ..upstream import JournalEntry
from ._context import CheckContext


def same(ctx: CheckContext, actual: Any, expected: Any, message: str, *, level: str | None = None,
         shown: Any = None) -> bool:
    """``actual`` equals ``expected``; ``shown`` replaces ``actual`` in the evidence when the compared value is not
    what a reader needs (a digest, a count)."""
    return ctx.expect(actual == expected, message, expected=expected, actual=actual if shown is None else shown,
                      level=level)


def holds(ctx: CheckContext, ok: bool, message: str, expected: Any, actual: Any, *, level: str | None = None) -> bool:
    """A condition that is not an equality (a bound, a membership, a refusal), with what was expected and seen."""
    return ctx.expect(ok, message, expected=expected, actual=actual, level=level)


def answered(ctx: CheckContext, exchange: Exchange, message: str, *, status: int = 200,
             level: str | None = None) -> bool:
    """The client got ``status``; the evidence keeps the status with the start of the body."""
    return ctx.expect(exchange.status == status, message, expected=status,
                      actual=f"{exchange.status} {exchange.body[:300]!r}", level=level)


def upstream_answered(ctx: CheckContext, entry: JournalEntry, message: str, *, status: int = 200) -> bool:
    """The upstream itself answered ``status`` (the request it got was one it accepts)."""
    return ctx.expect(entry.status == status, message, expected=status,
                      actual=f"{entry.status} {entry.response_body[:300]!r}")


def body_same(ctx: CheckContext, ours: bytes, theirs: bytes, message: str, *, level: str | None = None) -> bool:
    """Two bodies are byte-identical; the evidence keeps the first 300 bytes of each."""
    return ctx.expect(ours == theirs, message, expected=theirs[:300], actual=ours[:300], level=level)
