"""The harness as the tests build it, one way each: a target's run against an upstream (what a session makes for
every target), and a checklist launched in a subprocess (what a user types)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance.checks import REGISTRY, TargetRun
from conformance.clients._observer import UpstreamObserver
from conformance.core._http import HarnessClient
from conformance.paths import COMMON_FEATURES, Credentials, EgressPath
from conformance.results._result import CheckResult
from conformance.run._engine import run_check
from conformance.upstream import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN, ReferenceUpstream, UpstreamProcess

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = Credentials(DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN)


@contextmanager
def target_run(upstream: ReferenceUpstream | UpstreamProcess, path: EgressPath | str, *, direct: bool = True,
               client: HarnessClient | None = None, timeout: float = 30.0, **run: Any) -> Iterator[TargetRun]:
    """The run of ``path`` (an ``EgressPath``, or the base URL of a plain one named ``fault-proxy``) against
    ``upstream``, whose journal is read over HTTP as a session reads it; with a direct client unless
    ``direct=False``. Closes the clients and the observer it made."""
    if isinstance(path, str):
        path = EgressPath(name="fault-proxy", base_url=path, features=COMMON_FEATURES)
    journal_url = upstream.journal_url if isinstance(upstream, UpstreamProcess) else upstream.base_url
    observer = UpstreamObserver("reference", upstream.base_url, CREDENTIALS, journal_url=journal_url)
    made = [client or HarnessClient(path.base_url, timeout=timeout)]
    if direct:
        made.append(HarnessClient(upstream.base_url, timeout=timeout))
    try:
        yield TargetRun(path=path, observer=observer, client=made[0], direct=made[1] if direct else None, **run)
    finally:
        for one in made:
            one.close()
        observer.close()


def check_through(upstream: ReferenceUpstream | UpstreamProcess, path: EgressPath | str, check_id: str, *,
                  timeout: float = 60.0, **run: Any) -> CheckResult:
    """One check's result through ``path`` (see ``target_run``)."""
    with target_run(upstream, path, **run) as target:
        return run_check(REGISTRY[check_id], target, timeout=timeout)


def checklist_command(*args: str) -> list[str]:
    """The command line of a checklist run, as a user types it (``pytest conformance/checks …``)."""
    return [sys.executable, "-m", "pytest", "conformance/checks", "-p", "no:cacheprovider", "-q", *args]


def run_checklist(report_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 240,
                  prefix: Sequence[str] = ()) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run a checklist writing into ``report_dir``; its process and the results document it wrote ({} if none).
    ``prefix`` runs it under another command (a network namespace)."""
    process = subprocess.run([*prefix, *checklist_command("--report-dir", str(report_dir), *args)], cwd=ROOT,
                             capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    found = sorted(report_dir.glob("run-*/results.json"))
    return process, json.loads(found[-1].read_text()) if found else {}
