"""When each check runs: the timing checks first in bounded groups, then quick checks one after another per target
and slow ones a few at a time; every check bounded by its own time (``_engine.run_check``).

Every check thread shares the harness's interpreter: how many run at once decides how long each request waits for
it, so the numbers here are measured, not tuned for speed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait

from ..checks import REGISTRY, Check, TargetRun
from ..results._result import CheckResult
from ._engine import QUEUE_STRETCH, run_check

# How many timing checks run at once: stream timings (paced streams, path and direct interleaved), and Claude
# Code's (each runs Claude Code through the path and direct).
STREAM_TIMING_AT_ONCE = 16
CLIENT_TIMING_AT_ONCE = 6
# How many slow checks (client runs, recorded replays) run at once, first come first served in the order pytest asks
# for them. With all of them started at once (~270 in the 19-target matrix) each request waited on all the others
# for the interpreter, and replays of 3 s alone ran past their 180 s bound.
SLOW_AT_ONCE = 8
# What starting the targets may take before any check runs: a first-use Claude Code install, LiteLLM's up to 120 s
# readiness, agent sandboxes; all bounded on their own, this is their sum with room to spare.
START_UP_S = 300.0

Job = tuple[Check, TargetRun]


class CheckScheduler:
    """Runs jobs (a check on a target's run) on daemon threads, none of which can keep the interpreter alive after
    the run ends; every job's result arrives in a future, and a job never raises (its result says why)."""

    def __init__(self, bound: Callable[[Check], float], stop: threading.Event) -> None:
        self.bound = bound
        self.stop = stop

    def _run(self, job: Job, future: Future[CheckResult]) -> None:
        check, run = job
        future.set_result(run_check(check, run, timeout=self.bound(check), stop=self.stop))

    def in_sequence(self, jobs: list[Job]) -> list[Future[CheckResult]]:
        """Run ``jobs`` one after another on one thread."""
        futures: list[Future[CheckResult]] = [Future() for _ in jobs]

        def work() -> None:
            for job, future in zip(jobs, futures, strict=True):
                self._run(job, future)

        if jobs:
            threading.Thread(target=work, name=f"checks-{jobs[0][1].path.name}", daemon=True).start()
        return futures

    def in_pool(self, jobs: list[Job], workers: int) -> list[Future[CheckResult]]:
        """Run ``jobs`` on ``workers`` threads, first come first served; a check's bound starts when a worker takes
        it, so the queue is never held against the path."""
        futures: list[Future[CheckResult]] = [Future() for _ in jobs]
        queue = iter(list(zip(jobs, futures, strict=True)))
        lock = threading.Lock()

        def work() -> None:
            while True:
                with lock:
                    taken = next(queue, None)
                if taken is None:
                    return
                self._run(*taken)

        for _ in range(min(workers, len(jobs))):
            threading.Thread(target=work, name="checks-slow", daemon=True).start()
        return futures

    def in_groups(self, jobs: list[Job], at_once: int) -> list[Future[CheckResult]]:
        """Run ``jobs`` at most ``at_once`` at a time, each on its own thread; returns when all have finished."""
        futures: list[Future[CheckResult]] = []
        running: list[Future[CheckResult]] = []
        for job in jobs:
            if len(running) >= at_once:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                running = [f for f in running if f not in done]
            future = self.in_sequence([job])[0]
            futures.append(future)
            running.append(future)
        wait(running)
        return futures


def start_bound(selected: Iterable[tuple[str, str]], check_timeout: float) -> float:
    """The longest ``ChecklistSession.start`` can take for ``selected``: target start-up, then the timing checks in
    their groups of a bounded size, each check stretched to its full queue allowance (every part bounds itself;
    this sum is what a safety net over the whole set-up must allow)."""
    selected = set(selected)
    runs_claude = {c.id for c in REGISTRY.values() if "claude-code" in c.features}
    total = START_UP_S
    for claude, at_once in ((False, STREAM_TIMING_AT_ONCE), (True, CLIENT_TIMING_AT_ONCE)):
        bounds = [REGISTRY[c].bound_s or check_timeout for c, _ in selected
                  if c in REGISTRY and REGISTRY[c].timing and (c in runs_claude) == claude]
        if bounds:
            total += -(-len(bounds) // at_once) * max(bounds) * QUEUE_STRETCH
    return total
