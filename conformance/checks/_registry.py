"""The check registry: each check is a record (id, question, requirement, level, features, phase, the faults that
must make it fail), then a function."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ..core._verdict import Verdict
from ..core._vocab import Feature, Level
from ..core._vocab import features as as_features

if TYPE_CHECKING:
    from ._context import CheckContext

_ROOT = Path(__file__).resolve().parents[2]


class Phase(StrEnum):
    """When a check runs in a session (``run._plan``), by what it costs and what it measures."""

    QUICK = "quick"
    """Requests of a few seconds: one after another per target."""
    SLOW = "slow"
    """Client runs and replays (tens of seconds, CPU): a few at a time."""
    CLOCK = "clock"
    """Mostly waits on the clock (a long or silent stream) at almost no CPU: starts first, beside the timing checks."""
    STREAM_TIMING = "stream-timing"
    """Judges the timing of streams: in the run's quiet phase, before other checks, so their load is not in it."""
    CLIENT_TIMING = "client-timing"
    """Judges timing through a client run (Claude Code): after the stream timings, whose measure its start-up
    bursts would disturb."""


# What a check must reach against its fault: fail, or pass-nonstrict for a ``should`` it breaks, or info (an
# observation that must see it).
FAULT_VERDICTS = frozenset({Verdict.FAIL, Verdict.PASS_NONSTRICT, Verdict.INFO})


@dataclass(frozen=True)
class Check:
    """One question the checklist asks of every target."""

    id: str
    """Stable dotted id, e.g. ``sse.bytes-identical``; reports and expectations refer to it."""
    title: str
    """The question it answers."""
    requirement: str
    """The requirement it enforces, quoted from its source."""
    source: str
    """Where the requirement comes from (a URL or a document section)."""
    level: Level
    features: frozenset[Feature]
    """Path features it needs; a path without one gets ``unsupported``."""
    evidence: str
    """What evidence the check stores."""
    failure_example: str
    """An example of the message a failure gives (for docs/checks.md)."""
    func: Callable[[CheckContext], None]
    phase: Phase = Phase.QUICK
    faults: dict[str, Verdict] = field(default_factory=dict)
    """Broken paths that it must catch: a fault of the harness's fault proxy (``tests/faults.py``) and the verdict
    the check reaches through it; the harness's tests run every one."""
    bound_s: float | None = None
    """The check's own time bound, for checks whose parts have bounds of their own (a Claude Code run may take
    40 s, and a check runs up to four); None takes the run's ``--check-timeout``."""

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def location(self) -> str:
        """``conformance/checks/area.py:LINE`` of the check's function."""
        file = Path(inspect.getsourcefile(self.func) or "")
        line = inspect.getsourcelines(self.func)[1]
        try:
            file = file.relative_to(_ROOT)
        except ValueError:
            pass
        return f"{file}:{line}"


REGISTRY: dict[str, Check] = {}


def check(
    *,
    id: str,
    title: str,
    requirement: str,
    source: str,
    level: Level | str = Level.MUST,
    features: tuple[Feature | str, ...] = (Feature.MESSAGES,),
    evidence: str = "request, response, upstream-received and upstream-sent excerpts",
    failure_example: str = "",
    phase: Phase = Phase.QUICK,
    faults: dict[str, str] | None = None,
    bound_s: float | None = None,
) -> Callable[[Callable[[CheckContext], None]], Callable[[CheckContext], None]]:
    """Register the decorated function as the check ``id``; ids must be unique. A check is a ``must`` unless it
    says ``level="should"`` (a partial pass) or ``level="info"`` (an observation). Features, level and fault
    verdicts are checked here: a misspelt feature would otherwise make the check ``unsupported`` everywhere."""
    broken = {name: Verdict(verdict) for name, verdict in (faults or {}).items()}
    if not broken or not set(broken.values()) <= FAULT_VERDICTS:
        raise ValueError(f"check {id}: faults must name at least one fault and a verdict among "
                         f"{', '.join(sorted(FAULT_VERDICTS))}")

    def register(func: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        if id in REGISTRY:
            raise ValueError(f"duplicate check id {id}")
        REGISTRY[id] = Check(
            id=id,
            title=title,
            requirement=requirement,
            source=source,
            level=Level(level),
            features=as_features(features),
            evidence=evidence,
            failure_example=failure_example,
            func=func,
            phase=phase,
            faults=broken,
            bound_s=bound_s,
        )
        return func

    return register
