"""
The checklist as a user runs it: pytest with the plugin, results.json, bad input, a gateway of the user's own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from conformance.checks import REGISTRY
from conformance.core._verdict import Verdict
from conformance.paths import COMMON_FEATURES, EgressPath
from conformance.paths._process import GatewayProcess, ManagedProcess
from conformance.results._document import load_schema
from conformance.run._engine import run_check

from ._harness import run_checklist, target_run
from .faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_writes_results_valid_against_the_schema(tmp_path):
    """
    A run writes reports/<run-id>/results.json, valid against its schema, one record per check x target.
    """
    # auth and headers: quick checks (errors.* hold a 16 s answer); the whole matrix is validated in test_matrix.py
    process, document = run_checklist(tmp_path, "--target=direct", "-k", "auth or headers")
    assert process.returncode == 0, process.stdout[-2000:]
    jsonschema.validate(document, load_schema())
    checks = {r["check"] for r in document["results"]}
    assert checks == {c for c in REGISTRY if "auth" in c or "headers" in c}
    verdicts = {r["check"]: r["verdict"] for r in document["results"]}
    assert set(verdicts.values()) <= {"pass", "info", "unsupported"} and "pass" in verdicts.values()
    assert all(REGISTRY[c].features - COMMON_FEATURES for c, v in verdicts.items() if v == "unsupported")
    assert "egress conformance" in process.stdout and "results:" in process.stdout


def test_unknown_target_is_one_line_and_error_verdicts(tmp_path):
    """
    An unknown target name gives one clear line and verdict error with its cause; the known target still runs.
    """
    process, document = run_checklist(tmp_path, "--target=direct,nosuch", "-k", "request.metadata")
    assert "error: unknown target 'nosuch'" in process.stdout
    assert "Traceback" not in process.stdout + process.stderr
    verdicts = {r["target"]: (r["verdict"], r["message"]) for r in document["results"]}
    assert verdicts["direct"][0] == "pass"
    assert verdicts["nosuch"][0] == "error" and "unknown target" in verdicts["nosuch"][1]


def test_unreachable_base_url_is_one_line_and_error_verdicts(tmp_path):
    """
    A deployed path that is not listening gives one clear line and verdict error, quickly.
    """
    url = f"http://127.0.0.1:{_free_port()}"
    process, document = run_checklist(tmp_path, "--target=mygateway", f"--base-url={url}", "-k", "auth")
    assert process.stdout.count("unreachable base URL") >= 1
    assert "Traceback" not in process.stdout + process.stderr
    assert {r["verdict"] for r in document["results"]} == {"error"}


def test_malformed_target_is_an_error_verdict(tmp_path):
    """
    A malformed target word is reported, not a crash.
    """
    process, document = run_checklist(tmp_path, "--target=direct[oops", "-k", "request.metadata")
    assert "malformed target" in process.stdout
    assert {r["verdict"] for r in document["results"]} == {"error"}


def test_path_that_dies_mid_run_gives_error_with_cause(session_upstream):
    """
    When the path goes away between checks, later checks get verdict error naming the cause, without hanging.
    """
    proxy = FaultProxy(session_upstream.base_url).start()
    with target_run(session_upstream, EgressPath(name="dies", base_url=proxy.base_url), direct=False,
                    timeout=5) as run:
        assert run_check(REGISTRY["request.metadata-kept"], run).verdict is Verdict.PASS
        proxy.stop()
        result = run_check(REGISTRY["request.metadata-kept"], run, timeout=20)
        assert result.verdict is Verdict.ERROR
        assert "unreachable" in result.message and "ConnectError" in result.message


def test_a_started_path_whose_process_died_gives_error_naming_the_exit_and_leaves_nothing(session_upstream):
    """
    A path the harness started whose process is killed: its checks are errors naming the exit (not failures of
    what it would have done), and stopping it reaps what the dead process had started in its group.
    """
    proxy = FaultProxy(session_upstream.base_url).start()
    gateway = GatewayProcess(name="killed", base_url=proxy.base_url)
    gateway.process = ManagedProcess("killed", ["sh", "-c", "sleep 300 & exec sleep 300"])
    gateway.process.start()
    try:
        with target_run(session_upstream, gateway, direct=False, timeout=5) as run:
            assert run_check(REGISTRY["request.metadata-kept"], run).verdict is Verdict.PASS
            leader = gateway.process.process
            assert leader is not None
            time.sleep(0.3)  # the child sleep is started
            os.kill(leader.pid, signal.SIGKILL)
            leader.wait(5)
            result = run_check(REGISTRY["request.metadata-kept"], run, timeout=20)
        assert result.verdict is Verdict.ERROR and result.message == "killed exited with code -9"
    finally:
        gateway.process.stop()
        proxy.stop()
    time.sleep(0.2)
    assert not _alive_in_group(leader.pid)  # nothing of its group runs on (a zombie awaits its reaper, no more)


def _alive_in_group(pgid: int) -> list[int]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_users_own_gateway_against_a_standalone_upstream(tmp_path):
    """
    The README walk-through: start python -m conformance.upstream, put a gateway in front, run with --base-url and
    --upstream-url; the journal is read over HTTP.
    """
    upstream = subprocess.Popen(
        [sys.executable, "-m", "conformance.upstream", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert upstream.stdout is not None
        upstream_url = upstream.stdout.readline().strip()
        with FaultProxy(upstream_url, "drop-query") as gateway:
            process, document = run_checklist(
                tmp_path,
                "--target=my-nginx",
                f"--base-url={gateway.base_url}",
                f"--upstream-url={upstream_url}",
                "-k",
                "request.",
            )
    finally:
        upstream.terminate()
        upstream.wait(10)
    verdicts = {r["check"]: r["verdict"] for r in document["results"]}
    assert document["run"]["upstream_mode"] == "remote"
    assert verdicts["request.beta-query-kept"] == "fail"
    assert verdicts["request.metadata-kept"] == "pass"
    assert process.returncode == 1


def test_replay_runs_against_a_users_own_upstream_and_live_with_it_is_refused(tmp_path):
    """
    --upstream=replay with --upstream-url replays the recorded stream through the user's gateway (results.json
    records mode replay); --upstream=live with --upstream-url is refused with one line before anything starts.
    """
    upstream = subprocess.Popen(
        [sys.executable, "-m", "conformance.upstream", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert upstream.stdout is not None
        upstream_url = upstream.stdout.readline().strip()
        with FaultProxy(upstream_url) as gateway:
            process, document = run_checklist(tmp_path / "replay", "--target=gw", f"--base-url={gateway.base_url}",
                                        f"--upstream-url={upstream_url}", "--upstream=replay", "-k", "sse.bytes")
            refused, _ = run_checklist(tmp_path / "live", "--target=gw", f"--base-url={gateway.base_url}",
                                 f"--upstream-url={upstream_url}", "--upstream=live")
    finally:
        upstream.terminate()
        upstream.wait(10)
    assert document["run"]["upstream_mode"] == "replay"
    result = next(r for r in document["results"] if r["check"] == "sse.bytes-identical")
    assert result["verdict"] == "pass", result["message"]
    assert refused.returncode != 0 and "Traceback" not in refused.stdout + refused.stderr
    assert [line for line in (refused.stdout + refused.stderr).splitlines() if "--upstream=live" in line]


@pytest.mark.parametrize("upstream_mode", ["live"])
def test_live_mode_without_journal_is_unsupported_not_failed(tmp_path, upstream_mode):
    """
    With the real API behind a deployed path, checks that need the journal are unsupported: upstream not observable.
    """
    with FaultProxy("http://127.0.0.1:9") as gateway:
        process, document = run_checklist(
            tmp_path,
            "--target=gw",
            f"--base-url={gateway.base_url}",
            f"--upstream={upstream_mode}",
            "-k",
            "request.metadata",
        )
    (result,) = document["results"]
    assert result["verdict"] in ("unsupported", "error")
    assert "not observable" in result["message"] or "unreachable" in result["message"]


def test_sentinel_credentials_never_reach_any_output(tmp_path):
    """
    The whole checklist through a leaky gateway of the user's own (it echoes its key and turns OAuth into
    x-api-key), with sentinel credentials everywhere (upstream key, OAuth token, gateway key): no report, log line or
    message contains them. The harness's own targets (LiteLLM's master key among them) run with sentinels in
    test_matrix.py.
    """
    api = "sk-ant-api03-SENTINELapi0000000000000000000000000000000000000000000000"
    oauth = "sk-ant-oat01-SENTINELoat0000000000000000000000000000000000000000000000"
    proxy_key = "gwkey-SENTINELproxy00000000000000"  # no known prefix: redacted because it was given as a key
    upstream = subprocess.Popen([sys.executable, "-m", "conformance.upstream", "--port", "0", "--api-key", api,
                                 "--oauth-token", oauth], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    env = {"EGRESS_CONFORMANCE_API_KEY": api, "EGRESS_CONFORMANCE_OAUTH_TOKEN": oauth}
    (tmp_path / "secret").mkdir()
    auth_file = tmp_path / "secret" / "gateway-auth"  # the gateway key never on a command line (ps shows those)
    auth_file.write_text(f"# the gateway's own key\nx-litellm-api-key: {proxy_key}\n")
    try:
        assert upstream.stdout is not None
        upstream_url = upstream.stdout.readline().strip()
        with FaultProxy(upstream_url, "leak-proxy-key", "oauth-to-x-api-key") as gateway:
            process, document = run_checklist(
                tmp_path / "gw", "--target=gw", f"--base-url={gateway.base_url}", f"--upstream-url={upstream_url}",
                f"--auth-file={auth_file}", "-rA", env=env)
    finally:
        upstream.terminate()
        upstream.wait(10)
    assert document["results"], process.stdout[-2000:]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent.name != "secret"]
    assert {p.name for p in files} >= {"results.json", "findings.md", "matrix.html", "junit.xml"}
    outputs = process.stdout + process.stderr + "".join(p.read_text() for p in files)
    assert "SENTINEL" not in outputs
    assert "sk-ant-oat01-…" in outputs and "sk-ant-api03-…" in outputs


# Behind the default (compressing) upstream the same targets run in the tests session's whole matrix.
@pytest.mark.parametrize("encoding", ["identity"])
def test_transparent_paths_pass_behind_either_upstream_encoding(tmp_path, encoding):
    """
    Behind an uncompressed upstream (the compressing one is the default every other run uses), direct and the
    transparent Envoy paths pass every check they can answer: compression never makes a false alarm (buffering is
    still caught: test_checks_fail).
    """
    process, document = run_checklist(tmp_path, "--target=direct,envoy,envoy-sni,envoy-connect",
                                f"--upstream-encoding={encoding}", "-k",
                                "not claude-code and not ts-sdk and not egress.")
    assert process.returncode == 0, process.stdout[-3000:]
    bad = [(r["check"], r["target"], r["message"]) for r in document["results"]
           if r["verdict"] not in ("pass", "info", "unsupported")]
    assert not bad
    encodings = {r["evidence"].get("sse_encoding", {}).get("upstream") for r in document["results"]
                 if r["check"] == "headers.content-encoding-kept"}
    assert encodings == {encoding}


def test_the_plugin_adds_options_only_to_checklist_runs(tmp_path):
    """
    Installing the package adds no options to an unrelated pytest run; the checklist folder and
    ``-p conformance.plugin`` (a run from another repository) both have them.
    """
    def help_text(*args: str, cwd: Path) -> str:
        process = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, "--help"],
                                 cwd=cwd, capture_output=True, text=True, timeout=60)
        return process.stdout

    assert "--target" not in help_text(cwd=tmp_path)
    assert "--target" in help_text("conformance/checks", cwd=ROOT)
    assert "--target" in help_text("-p", "conformance.plugin", cwd=tmp_path)
