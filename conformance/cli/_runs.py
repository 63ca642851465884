"""``diff``, ``gate``, ``merge``, ``publish`` and ``stability``: comparing, joining, publishing and repeating runs."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from ..core._exceptions import InputError
from ..core._settings import Settings


def diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)


def diff(args: argparse.Namespace, settings: Settings) -> int:
    from ..results._diff import diff_runs, load_results

    try:
        changes = diff_runs(load_results(args.run_a), load_results(args.run_b))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot read results: {exc}", file=sys.stderr)
        return 2
    print("\n".join(changes.lines(f"{args.run_a} → {args.run_b}")))
    return 0


def gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="results.json or a report directory (its newest run)")
    parser.add_argument("--baseline", required=True, help="the pinned release")
    parser.add_argument("--candidate", required=True, help="the release to upgrade to")


def gate(args: argparse.Namespace, settings: Settings) -> int:
    from ..results._diff import gate as run_gate
    from ..results._diff import load_results

    try:
        document = load_results(args.results)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot read results: {exc}", file=sys.stderr)
        return 2
    code, lines = run_gate(document, args.baseline, args.candidate, settings.expectations_dir)
    text = "\n".join(lines) + "\n"
    print(text)
    out = (args.results if args.results.is_dir() else args.results.parent) / "gate.md"
    out.write_text(text)
    print(f"written: {out}")
    return code


def merge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, help="results.json files or report directories")
    parser.add_argument("--out", type=Path, default=Path("reports/merged"))
    parser.add_argument("--targets", default=None, help="comma-separated targets the jobs should have covered")


def merge(args: argparse.Namespace, settings: Settings) -> int:
    """Write the merged results and reports; exit 1 when a job is missing or failed, or a result is a regression
    against the expectations (the gate decision), else 0."""
    from ..report import load_spike, write_reports
    from ..results._document import write_results
    from ..results._expectations import Status, compare
    from ..results._merge import merge_documents

    wanted = [t for t in (args.targets or "").split(",") if t] or None
    try:
        spike = load_spike(settings.questions_file)
        document = merge_documents(args.runs, wanted)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    compared = compare(document, settings.expectations_dir)
    directory = args.out / document["run"]["id"]
    write_results(document, directory)
    write_reports(document, directory, compared, spike)
    regressions = [r for r in compared if r["status"] == Status.REGRESSION]
    failed = [j for j in document["run"]["jobs"] if "error" in j]
    for job in failed:
        print(f"job {job['source']}: {job['error']}")
    missing = sorted({r["target"] for r in document["run"]["not_run"]})
    print(f"merged {len(document['run']['jobs'])} jobs, {len(document['run']['targets'])} targets, "
          f"{len(document['results'])} results: {len(regressions)} regressions"
          + (f"; not run: {', '.join(missing)}" if missing else "") + f" → {directory}")
    print(json.dumps({"gate": "fail" if regressions or failed or missing else "pass"}))
    return 1 if regressions or failed or missing else 0


def publish_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="a report directory (its newest run is taken)")
    parser.add_argument("destination", type=Path)
    parser.add_argument("--questions", type=Path, default=None, help="the spike findings.md answers (default: "
                        "EGRESS_CONFORMANCE_QUESTIONS, else fixtures/questions/spike-3.yaml)")


def publish(args: argparse.Namespace, settings: Settings) -> int:
    """Copy the newest run's results.json and render every report again from it (the current renderers)."""
    from ..report import load_spike, write_reports
    from ..results._expectations import compare

    runs = sorted(args.run.glob("run-*/results.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        print(f"error: no run under {args.run}", file=sys.stderr)
        return 2
    try:
        spike = load_spike(args.questions or settings.questions_file)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(runs[-1], args.destination / "results.json")
    document = json.loads(runs[-1].read_text())
    write_reports(document, args.destination, compare(document, settings.expectations_dir), spike)
    print(args.destination)
    return 0


def stability_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--busy-core", action="store_true", help="keep one core at 100 %% during the runs")
    parser.add_argument("--check-timeout", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("reports/stability"))


def stability(args: argparse.Namespace, settings: Settings) -> int:
    from ..run._stability import main as stability_main

    extra = [f"--check-timeout={args.check_timeout}"] if args.check_timeout != 60.0 else []
    return stability_main(args.runs, args.rest + extra, busy=args.busy_core, check_timeout=args.check_timeout,
                          out=args.out / time.strftime("%Y%m%d-%H%M%S"))
