"""Runs one check against one target within a time bound and turns its findings into a verdict."""

from __future__ import annotations

import threading
import time
from typing import Any

from ..checks import Check, CheckContext, CheckEnded, Finding, TargetRun
from ..core._evidence import trim, trim_findings
from ..core._exceptions import HarnessError, Unsupported
from ..core._redact import redact, redact_any
from ..core._verdict import Verdict
from ..results._result import CheckResult

# A check queued for a shared resource may take up to this many times its bound in all (see run_check).
QUEUE_STRETCH = 3


def verdict_of(findings: list[Finding], level: str) -> tuple[Verdict, str]:
    """``fail`` if a must failed, ``pass-nonstrict`` if only a should failed, ``info`` for observations."""
    failed_must = [f for f in findings if not f.ok and f.level == "must"]
    failed_should = [f for f in findings if not f.ok and f.level == "should"]
    if level == "info":
        return Verdict.INFO, "; ".join(f.message for f in findings[:3])
    if failed_must:
        return Verdict.FAIL, "; ".join(f.message for f in failed_must[:3])
    if failed_should:
        return Verdict.PASS_NONSTRICT, "; ".join(f.message for f in failed_should[:3])
    return Verdict.PASS, f"{len(findings)} assertion(s) held"


def _finding_json(finding: Finding) -> dict[str, Any]:
    return redact_any(
        {
            "ok": finding.ok,
            "level": finding.level,
            "message": finding.message,
            "expected": _jsonable(finding.expected),
            "actual": _jsonable(finding.actual),
        }
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (set, frozenset, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


# A path killed under a check closes its sockets a moment before its process is seen to exit: a failure waits this
# long for that before it counts as the path's behaviour.
PATH_EXIT_SETTLE_S = 0.3


def run_check(check: Check, run: TargetRun, *, timeout: float = 60.0,
              stop: threading.Event | None = None) -> CheckResult:
    """Run ``check`` on ``run``'s target; never raises, never takes longer than ``timeout`` seconds.

    When the bound is reached, or ``stop`` is set (the run is being torn down), the check is cancelled: its next
    request raises and the client processes it started are killed, so no work outlives its verdict."""
    start = time.perf_counter()

    def result(verdict: Verdict, message: str, ctx: CheckContext | None = None) -> CheckResult:
        full = verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.PASS_NONSTRICT)
        findings = trim_findings([_finding_json(f) for f in ctx.findings], full=full) if ctx else []
        evidence = redact_any(_jsonable(trim(ctx.evidence, full=full))) if ctx else {}
        made = CheckResult(
            check.id,
            run.path.name,
            verdict,
            redact(message),
            int((time.perf_counter() - start) * 1000),
            check.level,
            findings,
            evidence,
            timeout,
            int(ctx.waited_s() * 1000) if ctx else 0,
        )
        # An error during the teardown (the path or upstream going away under it) is not the path's verdict.
        made.stopped = verdict is Verdict.ERROR and stop is not None and stop.is_set()
        return made

    if run.startup_error:
        return result(Verdict.UNSUPPORTED if run.startup_unsupported else Verdict.ERROR, run.startup_error)
    dead = run.liveness.dead_reason or run.path.exit_reason()
    if dead:
        return result(Verdict.ERROR, dead)
    missing = sorted(check.features - run.path.features)
    if missing:
        reasons = "; ".join(f"{m}: {run.path.unsupported_reasons.get(m, 'not declared by the path')}" for m in missing)
        return result(Verdict.UNSUPPORTED, f"needs {', '.join(missing)} ({reasons})")

    ctx = CheckContext(run, check.level)
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            check.func(ctx)
            outcome.append(None)
        except BaseException as exc:  # reported as the verdict below
            outcome.append(exc)

    worker = threading.Thread(target=target, name=f"check-{check.id}", daemon=True)
    worker.start()
    # Time the check spends queued for a resource the whole run shares (ctx.bound_paused) is added to its bound,
    # up to twice the bound again: the bound measures the path, not the length of the queue.
    started = time.monotonic()
    cap = started + QUEUE_STRETCH * timeout
    while worker.is_alive() and not (stop is not None and stop.is_set()):
        deadline = min(started + timeout + ctx.waited_s(), cap)
        if time.monotonic() >= deadline:
            break
        worker.join(min(0.2, max(0.0, deadline - time.monotonic())))
    if worker.is_alive():
        ctx.cancel()  # its requests stop at the next call, its client processes are killed now
        if stop is not None and stop.is_set():
            return result(Verdict.ERROR, "the run was stopped before this check finished", ctx)
        dead = run.liveness.dead_reason
        return result(Verdict.ERROR, dead or f"timed out after {timeout:.0f} s", ctx)
    error = outcome[0] if outcome else None
    if isinstance(error, CheckEnded):  # its finding is recorded: grade what the check saw
        error = None
    if isinstance(error, Unsupported):
        return result(Verdict.UNSUPPORTED, str(error), ctx)
    if isinstance(error, HarnessError):
        return result(Verdict.ERROR, run.liveness.dead_reason or str(error), ctx)
    if error is not None:
        return result(Verdict.ERROR, f"check crashed: {type(error).__name__}: {error}", ctx)
    if not ctx.findings:
        return result(Verdict.ERROR, "the check made no observation", ctx)
    verdict, message = verdict_of(ctx.findings, check.level)
    gone = run.path.exit_reason(settle=PATH_EXIT_SETTLE_S) if verdict is Verdict.FAIL else None
    if gone:  # what it saw was the path going away under it (a refused connect, a cut stream), not its behaviour
        return result(Verdict.ERROR, f"{gone} during the check ({message})", ctx)
    return result(verdict, message, ctx)

