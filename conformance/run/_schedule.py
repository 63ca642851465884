"""How a stage of the plan (``_plan``) runs: on daemon threads, one after another, in a pool or in groups; every
check bounded by its own time (``_engine.run_check``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait

from ..checks import Check, TargetRun
from ..results._result import CheckResult
from ._engine import run_check

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
