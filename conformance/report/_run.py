"""A finished checklist session written out: results.json, the reports beside it, and the lines that say so."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..core._settings import Settings
from ..results._document import matrix_lines, results_document, write_results
from ..results._expectations import Status, compare
from ..results._expectations import update as update_expectations
from ..run._session import ChecklistSession
from ._spec import load_spike


def write_run(session: ChecklistSession, report_dir: Path, settings: Settings, *, interrupted: bool,
              update_expectations_files: bool = False) -> list[str]:
    """Write the session's results and reports under ``report_dir/run-…``; the lines that summarise them (none
    when nothing ran, one error line when the directory cannot be written)."""
    from . import write_reports

    session.harvest()
    if not session.results and not session.selected:
        return []
    run_id = time.strftime("run-%Y%m%d-%H%M%S", time.gmtime(session.started_at))
    directory = report_dir / run_id
    not_run = session.not_run
    document = results_document(
        session.results,
        run_id=run_id,
        started_at=session.started_at,
        upstream_mode=session.observer.mode if session.observer else "?",
        targets=[r.path.describe() for r in session.runs.values()],
        not_run=not_run,
        interrupted=interrupted,
        claude_code_version=settings.claude_code_version,
        ts_sdk_version=settings.ts_sdk_version,
        performance=session.performance,
    )
    compared = compare(document, settings.expectations_dir)  # once: the summary, every report and the gate agree
    try:
        path = write_results(document, directory)
        reports = write_reports(document, directory, compared, load_spike(settings.questions_file))
    except OSError as exc:
        return [f"error: cannot write the reports to {directory}: {exc.strerror or exc}"]
    lines = []
    if not_run:
        lines.append(f"INCOMPLETE RUN: {len(not_run)} of {len(session.selected)} checks did not run"
                     f"{' (interrupted)' if interrupted else ''}; results.json says complete: false")
    lines += matrix_lines(_in_registry_order(session.results))
    for status in (Status.REGRESSION, Status.UNEXPECTED_PASS):
        hits = [f"{r['check']}@{r['target']}" for r in compared if r["status"] == status]
        if hits:
            lines.append(f"{status}: {len(hits)} — {', '.join(hits[:12])}")
    lines += [f"results: {path}", f"reports: {', '.join(str(p) for p in reports)}"]
    if update_expectations_files:
        lines += [f"expectations: {written}" for written in update_expectations(document, settings.expectations_dir)]
    return lines


def _in_registry_order(results: list[Any]) -> list[Any]:
    from ..checks import REGISTRY

    order = {check_id: i for i, check_id in enumerate(REGISTRY)}
    return sorted(results, key=lambda r: order.get(r.check_id, len(order)))
