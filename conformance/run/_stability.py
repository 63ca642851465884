"""``python -m conformance stability --runs N``: the same checklist run N times; every verdict that changed is a flip.

A gate that flips verdicts between runs cannot stand in front of an upgrade, so this prints each flip with the
verdicts and durations of every run, lists checks whose slowest run took more than half their time bound (the
next ones to flip), and exits 1 on any flip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CHECKS_DIR = Path(__file__).resolve().parents[1] / "checks"
"""The checklist, found from here: a run works from any directory."""


def _busy_loop() -> subprocess.Popen[bytes]:
    """One core at 100 % for as long as the runs last (a shared CI runner)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)


def run_once(pytest_args: list[str], report_dir: Path, timeout: float | None = None,
             env: dict[str, str] | None = None) -> tuple[float, dict[str, Any] | None, int]:
    """One checklist run in a process of its own (``env`` added to this one's), writing into ``report_dir``: its wall
    time, its results document (None when it wrote none) and pytest's exit code; TimeoutExpired past ``timeout``."""
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "pytest", str(CHECKS_DIR), "-q", "-p", "no:cacheprovider",
                                f"--report-dir={report_dir}", *pytest_args], capture_output=True, text=True,
                               timeout=timeout, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - started
    documents = sorted(report_dir.glob("run-*/results.json"))
    document = json.loads(documents[-1].read_text()) if documents else None
    if document is None:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-3:]
        print(f"  no results.json: {' | '.join(tail)}")
    return elapsed, document, completed.returncode


def flips(documents: list[dict[str, Any]]) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """``(check, target, [(verdict, duration_ms) per run])`` for every check × target whose verdict changed."""
    table: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for document in documents:
        for result in document["results"]:
            table.setdefault((result["check"], result["target"]), []).append(
                (result["verdict"], result["duration_ms"]))
    return [(check, target, runs) for (check, target), runs in table.items()
            if len({verdict for verdict, _ in runs}) > 1 or len(runs) != len(documents)]


def near_bound(documents: list[dict[str, Any]], default_bound_s: float) -> list[tuple[str, str, int, float]]:
    """``(check, target, slowest ms, bound s)`` for pairs whose slowest run took more than half their bound; time
    a check spent queued for a shared resource (``queued_ms``) does not count against the bound, so not here."""
    slowest: dict[tuple[str, str], tuple[int, float]] = {}
    for document in documents:
        for result in document["results"]:
            key = (result["check"], result["target"])
            bound = float(result.get("bound_s") or default_bound_s)
            counted = result["duration_ms"] - result.get("queued_ms", 0)
            slowest[key] = (max(slowest.get(key, (0, bound))[0], counted), bound)
    return sorted(((c, t, ms, b) for (c, t), (ms, b) in slowest.items() if ms > b * 500), key=lambda x: -x[2])


def main(runs: int, pytest_args: list[str], *, busy: bool, check_timeout: float, out: Path) -> int:
    busy_process = _busy_loop() if busy else None
    documents = []
    try:
        for index in range(runs):
            elapsed, document, code = run_once(pytest_args, out / f"run-{index + 1}")
            state = "complete" if document and document["run"].get("complete", True) else "incomplete"
            print(f"run {index + 1}/{runs}: {elapsed:.1f} s wall, pytest exit {code}, {state}", flush=True)
            if document is not None:
                documents.append(document)
    finally:
        if busy_process is not None:
            busy_process.kill()
            busy_process.wait()
    if len(documents) < runs:
        print(f"error: {runs - len(documents)} run(s) wrote no results")
        return 2
    changed = flips(documents)
    for check, target, per_run in changed:
        cells = ", ".join(f"{verdict} ({ms / 1000:.1f} s)" for verdict, ms in per_run)
        print(f"FLIP {check}@{target}: {cells}")
    for check, target, ms, bound in near_bound(documents, check_timeout)[:20]:
        print(f"slow {check}@{target}: {ms / 1000:.1f} s, more than half its {bound:.0f} s bound")
    slowest = sorted(((r["duration_ms"], r["check"], r["target"]) for d in documents for r in d["results"]),
                     reverse=True)[:5]
    print("slowest: " + "; ".join(f"{c}@{t} {ms / 1000:.1f} s" for ms, c, t in slowest))
    total = sum(len(d["results"]) for d in documents) // max(len(documents), 1)
    print(f"{len(changed)} flip(s) across {runs} runs of {total} results each"
          + (" with one core busy" if busy else ""))
    return 1 if changed else 0
