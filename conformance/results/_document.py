"""``results.json``: the one file every report and the gate are built from, and the compact terminal matrix."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from ..checks import REGISTRY
from ..core._evidence import pool_bodies
from ..core._fixtures import SCHEMAS_DIR
from ..core._redact import redact_any
from ..core._verdict import VERDICTS
from ._result import CheckResult

KIND = "EgressConformanceResults"
SCHEMA_VERSION = 1


def _git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def results_document(
    results: list[CheckResult], *, run_id: str, started_at: float, upstream_mode: str, targets: list[dict[str, Any]],
    not_run: list[tuple[str, str]] | None = None, interrupted: bool = False, claude_code_version: str | None = None,
    ts_sdk_version: str | None = None, performance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The results document (valid against ``fixtures/schemas/results.schema.json``), redacted.

    ``complete`` is false when any selected check × target has no result (``not_run`` lists them), so a report
    built from an interrupted run can never pass for a whole one."""
    from .. import __version__

    order = {check_id: i for i, check_id in enumerate(REGISTRY)}
    results = sorted(results, key=lambda r: order.get(r.check_id, len(order)))  # stable: targets keep their order
    used = sorted({r.check_id for r in results}, key=lambda c: order.get(c, len(order)))
    document = {
        "kind": KIND,
        "version": SCHEMA_VERSION,
        "run": {
            "id": run_id,
            "harness_version": __version__,
            "git_sha": _git_sha(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
            "duration_s": round(time.time() - started_at, 2),
            "complete": not not_run,
            "interrupted": interrupted,
            "not_run": [{"check": c, "target": t} for c, t in (not_run or [])],
            "upstream_mode": upstream_mode,
            "anthropic_sdk_version": _version("anthropic"),
            "claude_code_version": claude_code_version,
            "ts_sdk_version": ts_sdk_version,
            "python": platform.python_version(),
            "targets": targets,
        },
        "checks": [
            {
                "id": c.id,
                "title": c.title,
                "level": c.level,
                "requirement": c.requirement,
                "source": c.source,
                "features": sorted(c.features),
                "location": c.location,
            }
            for c in (REGISTRY[i] for i in used if i in REGISTRY)
        ],
        "results": [r.to_json() for r in results],
    }
    if performance:
        document["performance"] = performance
    document["blobs"] = pool_bodies(document["results"])
    return redact_any(document)


def write_results(document: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "results.json"
    # One result per line: compact enough for a 10-target run to stay small, still greppable and diffable.
    head = {k: v for k, v in document.items() if k not in ("results", "blobs")}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ',"results":[']
    lines += [json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "," for r in document["results"]]
    if len(lines) > 1:
        lines[-1] = lines[-1][:-1]
    lines.append('],"blobs":' + json.dumps(document.get("blobs", {}), ensure_ascii=False, indent=0) + "}")
    path.write_text("\n".join(lines) + "\n")
    return path


def load_schema() -> dict[str, Any]:
    return json.loads((SCHEMAS_DIR / "results.schema.json").read_text())


def matrix_lines(results: list[CheckResult]) -> list[str]:
    """A compact check × target matrix for the terminal."""
    targets = list(dict.fromkeys(r.target for r in results))
    cells = {(r.check_id, r.target): r.verdict.value for r in results}
    checks = list(dict.fromkeys(r.check_id for r in results))
    width = max((len(c) for c in checks), default=10)
    column = max([len(t) for t in targets] + [14])
    lines = [" " * width + "  " + "  ".join(t.ljust(column) for t in targets)]
    for check_id in checks:
        row = [cells.get((check_id, t), "-").ljust(column) for t in targets]
        lines.append(check_id.ljust(width) + "  " + "  ".join(row))
    totals = []
    for target in targets:
        verdicts = [v for (c, t), v in cells.items() if t == target]
        counts = {v.value: verdicts.count(v.value) for v in VERDICTS if verdicts.count(v.value)}
        totals.append(f"{target}: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    return lines + [""] + totals
