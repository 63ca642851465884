"""One plan for a checklist run: which checks run in which stage, and how many at once. The session runs it, the
bound of the session's set-up is computed from it, and the harness's own tests run their checks by it.

Every check thread shares the harness's interpreter: how many run at once decides how long each request waits for
it, so the numbers here are measured, not tuned for speed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..checks import REGISTRY, Phase
from ._engine import QUEUE_STRETCH

# How many timing checks run at once: stream timings (paced streams, path and direct interleaved), and Claude
# Code's (each runs Claude Code through the path and direct). With 19 targets all at once, Claude Code's stream
# through LiteLLM measured 80-290 ms added per delta and Portkey's SSE 38 ms per event, neither of which they add
# with fewer beside.
STREAM_TIMING_AT_ONCE = 16
CLIENT_TIMING_AT_ONCE = 6
# How many slow checks (client runs, recorded replays) run at once, first come first served in the order pytest asks
# for them. With all of them started at once (~270 in the 19-target matrix) each request waited on all the others
# for the interpreter, and replays of 3 s alone ran past their 180 s bound.
SLOW_AT_ONCE = 8
# What starting the targets may take before any check runs: a first-use Claude Code install, LiteLLM's up to 120 s
# readiness, agent sandboxes; all bounded on their own, this is their sum with room to spare.
START_UP_S = 300.0
Key = tuple[str, str]
"""A check id and a target word."""


@dataclass(frozen=True)
class Stage:
    """Checks of one phase, and how they run: ``groups`` of ``at_once`` (the next stage waits for them), a ``pool``
    of ``at_once`` workers, each ``alone`` on its own thread, or one after another ``per-target``."""

    phase: Phase
    keys: tuple[Key, ...]
    how: str
    at_once: int = 1

    @property
    def holds_the_rest(self) -> bool:
        """Whether the stages after it start only when it has finished (the run's quiet phase)."""
        return self.how == "groups"


# Stages in the order they start: clock-bound checks cost no CPU, so they start first, beside the timing checks;
# the stream timings then Claude Code's (a dozen Claude Code starts is a CPU burst that would sit inside the SSE
# measurement); then the rest, slow ones pooled and quick ones in order per target.
_ORDER: tuple[tuple[Phase, str, int], ...] = (
    (Phase.CLOCK, "alone", 1),
    (Phase.STREAM_TIMING, "groups", STREAM_TIMING_AT_ONCE),
    (Phase.CLIENT_TIMING, "groups", CLIENT_TIMING_AT_ONCE),
    (Phase.SLOW, "pool", SLOW_AT_ONCE),
    (Phase.QUICK, "per-target", 1),
)


def plan(selected: Sequence[Key]) -> list[Stage]:
    """The stages that run ``selected`` (in the order results will be asked for: slow checks are pooled in it);
    within other stages, checks keep the registry's order, targets the order given."""
    targets = list(dict.fromkeys(t for _, t in selected))
    wanted = set(selected)
    registry_order = [(c, t) for t in targets for c in REGISTRY if (c, t) in wanted]
    stages = []
    for phase, how, at_once in _ORDER:
        source = selected if phase is Phase.SLOW else registry_order
        keys = tuple(j for j in source if j[0] in REGISTRY and REGISTRY[j[0]].phase is phase)
        if keys:
            stages.append(Stage(phase, keys, how, at_once))
    return stages


def start_bound(selected: Iterable[Key], check_timeout: float) -> float:
    """The longest a session's start can take for ``selected``: target start-up, then the stages that hold the
    rest (the timing checks, in groups), each check stretched to its full queue allowance. Every part bounds
    itself; this sum is what a safety net over the whole set-up must allow."""
    total = START_UP_S
    for stage in plan(list(dict.fromkeys(selected))):
        if stage.holds_the_rest:
            bound = max(REGISTRY[c].bound_s or check_timeout for c, _ in stage.keys)
            total += -(-len(stage.keys) // stage.at_once) * bound * QUEUE_STRETCH
    return total
