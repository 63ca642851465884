"""The one timing judge: what a path adds to each event over direct (the same stream, in the same run), and the
verdict on its median, measured a second time before a path is failed.

Why the better of two: a single stall (the scheduler, a path's cold first stream) holds a run of events and then
lets them catch up, which over a short stream moves the median as buffering would (Claude Code's 20 deltas through
LiteLLM once read 936, 827, … 35 ms, then 0: held 1 s at the start, then normal). A path that buffers, or adds
delay to every event, does it in both measurements; a stall does not happen twice in a row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ._http import Exchange
from ._sse import decode_timed


class SentChunks(Protocol):
    """What the upstream sent for one request, chunk by chunk with times (a journal entry)."""

    @property
    def decoded_chunks(self) -> list[tuple[float, bytes]]: ...


def lags(exchange: Exchange | None, entry: SentChunks | None) -> list[float]:
    """Per event: client arrival time minus upstream send time, in seconds."""
    if exchange is None or entry is None:
        return []
    sent = [e.arrived_at or 0.0 for e in decode_timed(entry.decoded_chunks)]
    got = [e.arrived_at or 0.0 for e in exchange.events()]
    return [round(b - a, 4) for a, b in zip(sent, got, strict=False)]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def added_ms(path_lags: Sequence[float], direct_lags: Sequence[float]) -> list[float]:
    """Per event: the path's lag minus direct's, in ms (the path's own lag where direct has no such event)."""
    return [round((a - (direct_lags[i] if i < len(direct_lags) else 0.0)) * 1000, 1)
            for i, a in enumerate(path_lags)]


@dataclass
class TimingVerdict:
    """The added delays judged (the better measurement) and every measurement made."""

    added: list[float]
    bound_ms: float
    measured: list[list[float]] = field(default_factory=list)

    @property
    def median(self) -> float:
        return median(self.added)

    @property
    def ok(self) -> bool:
        return bool(self.added) and self.median <= self.bound_ms


def judge_added_delay(measure: Callable[[int], list[float]], bound_ms: float) -> TimingVerdict:
    """``measure(attempt)`` gives the added delay per event (ms) of one paired measurement; when the first one's
    median is over ``bound_ms`` it is measured once more and the better median is judged."""
    first = measure(0)
    verdict = TimingVerdict(first, bound_ms, [first])
    if first and verdict.ok:
        return verdict
    second = measure(1)
    verdict.measured.append(second)
    if second and (not first or median(second) < median(first)):
        verdict.added = second
    return verdict
