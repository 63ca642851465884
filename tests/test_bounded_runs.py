"""
A run is bounded whatever happens: Ctrl-C mid-check, a gateway that never answers, bad inputs, a check that times
out. Each test drives the checklist as a user does (pytest with the plugin, in a subprocess) and times it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from conformance.checks._context import PathLiveness, TargetRun
from conformance.clients._claude_code import installed_claude_code
from conformance.core._exceptions import HarnessError
from conformance.core._http import Exchange
from conformance.core._settings import Settings
from conformance.core._threads import parallel
from conformance.paths import EgressPath, PathError
from conformance.results._document import load_schema
from conformance.run._engine import run_check

from ._harness import checklist_command, run_checklist
from ._helpers import child_pids, process_alive
from .test_envoy import _envoy_pids

ROOT = Path(__file__).resolve().parents[1]


def _checklist(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        checklist_command("--report-dir", str(tmp_path / "reports"), *args),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})},
        start_new_session=True, preexec_fn=_ctrl_c_as_in_a_terminal)


def _ctrl_c_as_in_a_terminal() -> None:
    # A job a non-interactive shell put in the background inherits SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: the run under test gets Ctrl-C as it does in a terminal, whoever started these tests.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _claude_pids(parent: int) -> set[int]:
    """Claude Code processes the harness process ``parent`` started (the binary npm installs is ``claude``, its real
    file ``claude.exe``)."""
    return child_pids(parent, lambda argv: argv[0].endswith((b"/claude", b"/claude.exe")))


def _interrupt_and_check_reaped(process: subprocess.Popen[str], signum: int, started: set[int]) -> None:
    """Send ``signum``; pytest must be gone within 5 s and none of the ``started`` children left."""
    assert started, "the child process did not start"
    process.send_signal(signum)
    sent = time.monotonic()
    output, _ = process.communicate(timeout=30)
    assert time.monotonic() - sent < 5, output[-1500:]
    time.sleep(0.3)
    assert not [pid for pid in started if process_alive(pid)], "a child process outlived the run"


def _results(tmp_path: Path) -> dict:
    found = sorted((tmp_path / "reports").glob("run-*/results.json"))
    return json.loads(found[-1].read_text()) if found else {}


class SilentGateway:
    """Accepts connections and reads requests, never answers: the worst kind of broken gateway."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_gateway_that_never_answers_ends_in_time_with_error_verdicts(tmp_path):
    """
    Against a gateway that accepts connections and never answers, the whole checklist ends inside a minute: the
    start-up probe (HEAD / with a 10 s bound) finds it silent, and every check is an immediate error naming the cause.
    """
    gateway = SilentGateway()
    try:
        started = time.monotonic()
        process = _checklist(tmp_path, "--target=silent", f"--base-url=http://127.0.0.1:{gateway.port}")
        output, _ = process.communicate(timeout=240)
        elapsed = time.monotonic() - started
    finally:
        gateway.close()
    assert elapsed < 60, f"{elapsed:.0f} s"
    assert "Traceback" not in output
    document = _results(tmp_path)
    verdicts = {r["verdict"] for r in document["results"]}
    assert verdicts <= {"error", "unsupported"}, verdicts
    errors = [r["message"] for r in document["results"] if r["verdict"] == "error"]
    assert errors and all("answered nothing to HEAD / in 10 s" in m for m in errors), errors[:5]


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="node/npm not installed")
def test_ctrl_c_during_a_claude_code_check_leaves_no_process_behind(tmp_path):
    """
    SIGINT (Ctrl-C) while Claude Code runs: pytest exits within 5 s and no claude process outlives it; the
    results it writes say the run is incomplete and list what did not run.
    """
    try:
        settings = Settings.from_env()
        installed_claude_code(settings.claude_code_version, settings.cache_dir)
    except PathError as exc:
        pytest.skip(str(exc))
    process = _checklist(tmp_path, "--target=direct", "-k", "claude-code or sse")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _claude_pids(process.pid):
        time.sleep(0.05)
    _interrupt_and_check_reaped(process, signal.SIGINT, _claude_pids(process.pid))
    document = _results(tmp_path)
    jsonschema.validate(document, load_schema())
    assert document["run"]["complete"] is False and document["run"]["interrupted"] is True
    assert document["run"]["not_run"], "an interrupted run lists what did not run"
    findings = (Path(sorted((tmp_path / "reports").glob("run-*"))[-1]) / "findings.md").read_text()
    assert "INCOMPLETE RUN" in findings


def test_a_malformed_expectations_file_is_one_line_before_anything_starts(tmp_path):
    """
    A malformed expectations file stops the run at once with one line naming it, before any target starts.
    """
    (tmp_path / "direct.yaml").write_text("expectations:\n  - check: auth.api-key-accepted\n    verdict: maybe\n")
    started = time.monotonic()
    process = _checklist(tmp_path, "--target=direct", env={"EGRESS_CONFORMANCE_EXPECTATIONS": str(tmp_path)})
    output, _ = process.communicate(timeout=60)
    assert time.monotonic() - started < 10
    assert process.returncode != 0
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "direct.yaml" in line]
    assert len(lines) == 1 and "malformed expectations file" in lines[0], output
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").glob("run-*"))


def test_a_report_directory_that_cannot_be_written_is_one_line_before_anything_starts(tmp_path):
    """
    A report directory that cannot be created stops the run at once with one line, not a traceback at the end.
    """
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    started = time.monotonic()
    process, _ = run_checklist(blocker / "reports", "--target=direct", timeout=60)
    assert time.monotonic() - started < 10
    assert process.returncode != 0
    output = process.stdout + process.stderr
    assert "Traceback" not in output
    assert [line for line in output.splitlines() if "report directory" in line and "not writable" in line], output


def test_liveness_declares_a_path_dead_after_consecutive_silences_only():
    """
    Three requests in a row with no response make a path dead; an answer in between resets the count.
    """
    liveness = PathLiveness(limit=3)
    silent = Exchange("POST", "u", [], b"", 0.0, error="ReadTimeout: timed out")
    answered = Exchange("POST", "u", [], b"", 0.0, status=200)
    for exchange in (silent, silent, answered, silent, silent):
        liveness.record(exchange)
    assert liveness.dead_reason is None
    liveness.record(silent)
    assert liveness.dead_reason and "stopped answering" in liveness.dead_reason
    refused = Exchange("POST", "u", [], b"", 0.0, error="ConnectError: refused")
    fresh = PathLiveness(limit=1)
    fresh.record(refused)
    assert fresh.dead_reason is None  # refusals are reported per check (unreachable), not as silence


def test_parallel_work_keeps_order_raises_and_never_blocks_exit():
    """
    ``parallel`` returns results in order, re-raises the first exception, and its threads are daemons.
    """
    assert parallel(lambda x: x * 2, [1, 2, 3]) == [2, 4, 6]
    with pytest.raises(ValueError):
        parallel(lambda x: 1 // 0 if x == 2 else (_ for _ in ()).throw(ValueError("x")), [1])
    with pytest.raises(HarnessError):
        parallel(time.sleep, [5], timeout=0.2)
    assert all(t.daemon for t in threading.enumerate() if t.name == "check-part")


def test_sigterm_ends_the_run_at_once_and_reaps_every_path(tmp_path):
    """
    SIGTERM (a CI job cancelled, a pod stopped) ends pytest within seconds, as Ctrl-C does: every started path is
    reaped and the results written say the run was interrupted. (A SystemExit used to be reported as one item's
    error while the run went on.)
    """
    if shutil.which("envoy") is None and not (Path(sys.executable).parent / "envoy").exists():
        pytest.skip("envoy not installed (extra envoy)")
    process = _checklist(tmp_path, "--target=envoy,envoy-defaults", "-k", "long-stream or slow-response")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_envoy_pids(process.pid)) < 2:
        time.sleep(0.05)
    time.sleep(1)
    _interrupt_and_check_reaped(process, signal.SIGTERM, _envoy_pids(process.pid))
    document = _results(tmp_path)
    assert document["run"]["interrupted"] is True and document["run"]["complete"] is False


@pytest.mark.alone
def test_time_queued_for_a_shared_resource_does_not_count_against_a_checks_bound():
    """
    A check that waits 1.5 s in ``bound_paused`` (a Claude Code slot) and then works 0.5 s passes under a 1 s bound;
    one that works 1.5 s is cut off at its bound; one that stays queued is cut off at three times its bound.
    """
    from dataclasses import replace

    from conformance.checks._registry import REGISTRY
    from conformance.core._verdict import Verdict

    def queued_then_works(ctx):
        with ctx.bound_paused():
            time.sleep(1.5)
        time.sleep(0.5)
        ctx.expect(True, "never")

    def works_too_long(ctx):
        time.sleep(1.5)
        ctx.expect(True, "never")

    def queued_forever(ctx):
        with ctx.bound_paused():
            time.sleep(10)

    run = TargetRun(path=EgressPath(name="p", base_url="http://127.0.0.1:9"), observer=None, client=None,
                    direct=None)
    template = REGISTRY["request.metadata-kept"]
    queued = run_check(replace(template, func=queued_then_works, features=frozenset()), run, timeout=1)
    assert queued.verdict is Verdict.PASS
    # The queue is recorded apart, so a stability run judges "near its bound" on the time that counted.
    assert 1400 <= queued.queued_ms <= 1700 and queued.duration_ms - queued.queued_ms < 1000
    from conformance.run._stability import near_bound

    waited = {"check": "c", "target": "t", "duration_ms": 100_000, "queued_ms": 90_000, "bound_s": 120}
    assert near_bound([{"results": [waited]}], 60.0) == []
    assert near_bound([{"results": [{**waited, "queued_ms": 0}]}], 60.0) == [("c", "t", 100_000, 120.0)]
    cut = run_check(replace(template, func=works_too_long, features=frozenset()), run, timeout=1)
    assert cut.verdict is Verdict.ERROR and "timed out after 1 s" in cut.message
    started = time.monotonic()
    capped = run_check(replace(template, func=queued_forever, features=frozenset()), run, timeout=1)
    assert capped.verdict is Verdict.ERROR and 2.8 < time.monotonic() - started < 4.5


def test_the_set_up_safety_net_grows_with_the_matrix():
    """
    pytest-timeout's per-item bound also covers the session's set-up in the first checklist item (every target's
    start-up, then every timing check): with 19 targets that outgrew 120 s on CI, so the first item is given the
    longest the set-up can take, which grows with the number of timing checks selected.
    """
    from conformance.checks import REGISTRY, Phase
    from conformance.run._plan import START_UP_S, start_bound

    timing = [c for c in REGISTRY if REGISTRY[c].phase in (Phase.STREAM_TIMING, Phase.CLIENT_TIMING)]
    one = start_bound({(c, "direct") for c in timing}, 60.0)
    many = start_bound({(c, f"t{i}") for c in timing for i in range(19)}, 60.0)
    assert START_UP_S < one < many and many > 19 * 60
    assert start_bound({("request.metadata-kept", "direct")}, 60.0) == START_UP_S


@pytest.mark.alone
def test_slow_checks_run_a_few_at_a_time_in_the_order_asked_each_bound_from_its_start(monkeypatch):
    """
    Slow checks go through a pool of a few workers, first come first served, so a run's many client runs do not all
    compete for the interpreter at once; a check's bound starts when a worker takes it: five 1 s checks under a
    1.5 s bound, two at a time, all pass, are taken in the order given and never run more than two at once.
    """
    from dataclasses import replace

    from conformance.checks import Phase, _registry
    from conformance.core._verdict import Verdict
    from conformance.run._schedule import CheckScheduler

    running, most, started = [0], [0], []
    lock = threading.Lock()

    def one_second(ctx):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            started.append(ctx.run.path.name)
        time.sleep(1.0)
        with lock:
            running[0] -= 1
        ctx.expect(True, "never")

    template = _registry.REGISTRY["request.metadata-kept"]
    monkeypatch.setitem(_registry.REGISTRY, "test.one-second",
                        replace(template, id="test.one-second", func=one_second, features=frozenset(), phase=Phase.SLOW,
                                bound_s=1.5))
    names = [f"p{i}" for i in range(5)]
    jobs = [(_registry.REGISTRY["test.one-second"], TargetRun(path=EgressPath(name=n, base_url="http://127.0.0.1:9"),
                                                             observer=None, client=None, direct=None))
            for n in names]
    scheduler = CheckScheduler(lambda check: check.bound_s, threading.Event())
    results = [f.result(10) for f in scheduler.in_pool(jobs, 2)]
    assert [r.verdict for r in results] == [Verdict.PASS] * 5
    # Two workers take p0 and p1 together (either may call first), then p2 and p3, then p4.
    assert [set(started[:2]), set(started[2:4]), started[4]] == [{"p0", "p1"}, {"p2", "p3"}, "p4"] and most[0] == 2
