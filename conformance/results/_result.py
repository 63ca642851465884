"""One check's outcome on one target: the record every report, the gate and the expectations are built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core._verdict import Verdict


@dataclass
class CheckResult:
    """The outcome of one check on one target, with its evidence (already redacted)."""

    check_id: str
    target: str
    verdict: Verdict
    message: str
    duration_ms: int
    level: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    bound_s: float = 60.0
    """The time bound the check ran under."""
    queued_ms: int = 0
    """Of ``duration_ms``, the time spent queued for a resource the whole run shares (not counted in the bound)."""
    stopped: bool = False
    """The run was torn down before the check finished: it counts as not run, not as a verdict."""

    def to_json(self) -> dict[str, Any]:
        """The result as results.json holds it (``queued_ms`` only when the check waited: most never do)."""
        return {
            "check": self.check_id,
            "target": self.target,
            "verdict": self.verdict.value,
            "message": self.message,
            "duration_ms": self.duration_ms,
            "bound_s": self.bound_s,
            **({"queued_ms": self.queued_ms} if self.queued_ms else {}),
            "level": self.level,
            "findings": self.findings,
            "evidence": self.evidence,
        }
