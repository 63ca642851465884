"""The check registry: each check is a record (id, question, requirement, level, features), then a function."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ._context import CheckContext

Level = Literal["must", "should", "info"]
_ROOT = Path(__file__).resolve().parents[2]


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
    features: frozenset[str]
    """Path features it needs; a path without one gets ``unsupported``."""
    evidence: str
    """What evidence the check stores."""
    failure_example: str
    """An example of the message a failure gives (for docs/checks.md)."""
    func: Callable[[CheckContext], None]
    slow: bool = False
    clock_bound: bool = False
    """Mostly waits on the clock (a long or silent stream) at almost no CPU: may run alongside the timing checks."""
    timing: bool = False
    """Judges timing: runs in the run's quiet phase, before any other check, so the harness's own load is not in it."""
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
    level: Level = "must",
    features: tuple[str, ...] = ("messages",),
    evidence: str = "request, response, upstream-received and upstream-sent excerpts",
    failure_example: str = "",
    slow: bool = False,
    clock_bound: bool = False,
    timing: bool = False,
    bound_s: float | None = None,
) -> Callable[[Callable[[CheckContext], None]], Callable[[CheckContext], None]]:
    """Register the decorated function as the check ``id``; ids must be unique. A check is a ``must`` unless it
    says ``level="should"`` (a partial pass) or ``level="info"`` (an observation)."""

    def register(func: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        if id in REGISTRY:
            raise ValueError(f"duplicate check id {id}")
        REGISTRY[id] = Check(
            id=id,
            title=title,
            requirement=requirement,
            source=source,
            level=level,
            features=frozenset(features),
            evidence=evidence,
            failure_example=failure_example,
            func=func,
            slow=slow,
            clock_bound=clock_bound,
            timing=timing,
            bound_s=bound_s,
        )
        return func

    return register
