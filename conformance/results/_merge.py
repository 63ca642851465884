"""Runs of separate CI jobs (one per gateway family) joined into one results document, one report and one gate.

A job that failed before writing results, or whose results file is missing or unreadable, is named in
``run.jobs`` with its error; the merged run is then incomplete, and the targets it should have covered (when the
caller says which) are listed as not run, so a missing job can never pass for a clean one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ._diff import load_results


def merge_documents(sources: list[Path], expected_targets: list[str] | None = None) -> dict[str, Any]:
    """One results document from the results.json files (or report directories) of ``sources``."""
    jobs: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    for source in sources:
        try:
            document = load_results(source)
            if document.get("kind") != "EgressConformanceResults":
                raise ValueError("not an egress-conformance results document")
        except (OSError, ValueError, KeyError) as exc:
            jobs.append({"source": str(source), "error": str(exc).splitlines()[0][:200]})
            continue
        documents.append(document)
        jobs.append({"source": str(source), "run_id": document["run"]["id"],
                     "targets": [t["name"] for t in document["run"]["targets"]],
                     "complete": document["run"].get("complete", True)})
    if not documents:
        raise ValueError("no readable results among " + ", ".join(str(s) for s in sources))
    first = documents[0]
    targets: dict[str, dict[str, Any]] = {}
    results: dict[tuple[str, str], dict[str, Any]] = {}
    checks: dict[str, dict[str, Any]] = {}
    blobs: dict[str, str] = {}
    not_run: list[dict[str, str]] = []
    for document in documents:
        for target in document["run"]["targets"]:
            targets.setdefault(target["name"], target)
        for result in document["results"]:
            results.setdefault((result["check"], result["target"]), result)
        for check in document.get("checks", []):
            checks.setdefault(check["id"], check)
        blobs.update(document.get("blobs", {}))  # keys are content digests: the same key is the same body
        not_run += document["run"].get("not_run", [])
    covered = {name for name in targets}
    if expected_targets:
        from ..paths import split_targets

        expected_targets = split_targets(expected_targets)
    for name in expected_targets or []:
        if name not in covered:
            not_run += [{"check": check_id, "target": name} for check_id in checks]
    failed_jobs = [j for j in jobs if "error" in j]
    run = {
        **{k: v for k, v in first["run"].items() if k not in ("targets", "not_run", "complete", "jobs")},
        "id": "merged-" + time.strftime("%Y%m%d-%H%M%S"),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(sum(d["run"].get("duration_s", 0) for d in documents), 2),
        "interrupted": any(d["run"].get("interrupted") for d in documents),
        "complete": not failed_jobs and not not_run and all(j.get("complete", True) for j in jobs),
        "not_run": not_run,
        "targets": list(targets.values()),
        "jobs": jobs,
    }
    return {"kind": first["kind"], "version": first["version"], "run": run, "checks": list(checks.values()),
            "results": list(results.values()), "blobs": blobs}
