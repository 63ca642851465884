"""
Every check can fail: each runs against a fault-injecting proxy that breaks exactly what it asks about.

The same proxy with no fault passes every check, so each failure below is the fault's doing.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conformance.checks import REGISTRY
from conformance.core._install import is_installed
from conformance.core._redact import redact
from conformance.core._settings import Settings, load_pins
from conformance.core._sse import encode_event
from conformance.core._verdict import Verdict
from conformance.paths import COMMON_FEATURES, Connection, EgressPath, Feature
from conformance.paths._sandbox import API_ADDRESS, AgentSandbox, unavailable_reason
from conformance.results._result import CheckResult
from conformance.upstream import UpstreamConfig, UpstreamProcess
from conformance.upstream._tls import LocalCA

from ._harness import check_through, run_checklist
from ._helpers import run_every_check, upstream_process
from .faultproxy import PROXY_KEY_HEADER, FaultProxy
from .faults import BENIGN, FAULTS
from .openproxies import OpenConnectProxy, OpenTcpForwarder
from .usage_ledger import UsageLedger

PROXY_KEY = "sk-proxy-SENTINEL-0123456789abcdef"

FAIL, NONSTRICT, INFO = Verdict.FAIL, Verdict.PASS_NONSTRICT, Verdict.INFO
# Every check's faults, as it registered them (``@check(faults=...)``).
CASES: list[tuple[str, tuple[str, ...], Verdict]] = [
    (check.id, (fault,), verdict) for check in REGISTRY.values() for fault, verdict in check.faults.items()
]


# Paths with no allowlist at all, for the egress.* checks (which only allowlisting paths can answer).
OPEN_PATHS = {
    "open-tcp-forwarder": (OpenTcpForwarder, "sni-allowlist"),
    "open-connect-proxy": (OpenConnectProxy, "connect-allowlist"),
}


@pytest.fixture(scope="module")
def shared_upstream() -> Iterator[UpstreamProcess]:
    with upstream_process() as upstream:
        yield upstream


def _proxy(upstream: UpstreamProcess, *faults: str) -> FaultProxy:
    return FaultProxy(upstream.base_url, *faults, tls_url=f"https://127.0.0.1:{upstream.tls_port}")


def _observed(result: CheckResult) -> str:
    """What the check noted besides its exchanges (a timing check's measurements), for an assertion message."""
    return redact(repr({k: v for k, v in result.evidence.items() if k != "exchanges"}))[:400]


def _run(
    upstream: UpstreamProcess, proxy: FaultProxy, check_id: str, features: frozenset[str] = COMMON_FEATURES,
    sandbox: AgentSandbox | None = None,
) -> CheckResult:
    path = _AccountedPath(name="fault-proxy", base_url=proxy.base_url, proxy_headers=[(PROXY_KEY_HEADER, PROXY_KEY)],
                          features=features, ledger=getattr(proxy, "ledger", None))
    return check_through(upstream, path, check_id, sandbox=sandbox)


def _run_behind_a_sandboxed_gateway(upstream: UpstreamProcess, check_id: str, faults: tuple[str, ...]) -> CheckResult:
    """``check_id`` with Claude Code in a closed agent sandbox whose api.anthropic.com is a fault proxy answering
    TLS: the non-API requests Claude Code sends to api.anthropic.com (with non-essential traffic allowed) meet the
    faults, which they never do behind a base URL."""
    if unavailable_reason():
        pytest.skip(unavailable_reason())
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node/npm not installed")
    # The proxy answers as api.anthropic.com with a CA of its own: the upstream's key stays in its process.
    ca = LocalCA.create()
    sandbox = AgentSandbox().create()
    proxy = FaultProxy(upstream.base_url, *faults, tls_url=f"https://127.0.0.1:{upstream.tls_port}",
                       serve_tls=ca.server_context()).start()
    try:
        sandbox.publish_gateway(443, ("127.0.0.1", proxy._server.port))
        path = _SandboxedPath(name="sandboxed-fault-gateway", base_url="https://api.anthropic.com",
                              features=COMMON_FEATURES | {Feature.SANDBOX}, ca_pem=str(ca.ca_pem),
                              connect_to=("127.0.0.1", proxy._server.port))
        return check_through(upstream, path, check_id, timeout=120, sandbox=sandbox)
    finally:
        proxy.stop()
        sandbox.close()
        shutil.rmtree(ca.ca_pem.parent, ignore_errors=True)


@dataclass
class _AccountedPath(EgressPath):
    """The fault proxy as a path that keeps usage accounting (its ledger), as LiteLLM with a callback does."""

    ledger: UsageLedger | None = None
    usage_record_lag_s: float = 2.0  # the ledger records as the response leaves the proxy

    def usage_records(self) -> list[dict[str, Any]] | None:
        return self.ledger.snapshot() if self.ledger is not None else None


@dataclass
class _SandboxedPath(EgressPath):
    """A gateway reached by name from an agent sandbox (as envoy-sni is)."""

    ca_pem: str = ""
    connect_to: tuple[str, int] = ("127.0.0.1", 0)

    def connection(self) -> Connection:
        return Connection(self.base_url, verify=ssl.create_default_context(cafile=self.ca_pem),
                          connect_to=self.connect_to)


def _run_all(upstream: UpstreamProcess, proxy: FaultProxy, *, with_claude_code: bool = True) -> list[CheckResult]:
    return run_every_check(lambda c: _run(upstream, proxy, c), with_claude_code=with_claude_code)


def test_every_check_names_faults_the_fault_proxy_has():
    """
    No check is without a broken path that it catches (registration refuses a check without one), and every fault
    it names is one the fault proxy, or the test below, can build.
    """
    assert {c for c, _, _ in CASES} == set(REGISTRY)
    known = set(FAULTS) | set(OPEN_PATHS) | {"open-sandbox", "srt-unmasked"}  # the test builds those itself
    unknown = {(c, f) for c, (f,), _ in CASES if f.split("=", 1)[0] not in known}
    assert not unknown


@pytest.mark.parametrize(("check_id", "faults", "expected"), CASES, ids=[f"{c}[{','.join(f)}]" for c, f, _ in CASES])
def test_check_catches_its_fault(shared_upstream, tmp_path, check_id, faults, expected):
    """
    The check reaches the expected verdict against the broken path, with a message saying what broke.
    """
    if faults[0] == "srt-unmasked":  # srt terminating TLS without masking: the real token in the agent's sandbox
        _srt_leaks_the_token(tmp_path, check_id, expected)
        return
    if check_id.startswith(("client.claude-code.", "client.ts-sdk.")) and not (shutil.which("node") and
                                                                              shutil.which("npm")):
        pytest.skip("node/npm not installed: Claude Code and TypeScript SDK checks are unsupported here")
    if faults[0] == "open-sandbox":  # an agent network with a route to the API: direct egress works
        if unavailable_reason():
            pytest.skip(unavailable_reason())
        sandbox = AgentSandbox(open=True, api_host=API_ADDRESS).create()
        try:
            sandbox.publish(API_ADDRESS, 443, ("127.0.0.1", shared_upstream.tls_port))
            sandbox.publish(API_ADDRESS, 80, ("127.0.0.1", shared_upstream.port))
            with _proxy(shared_upstream) as proxy:
                result = _run(shared_upstream, proxy, check_id, COMMON_FEATURES | {Feature.SANDBOX}, sandbox)
        finally:
            sandbox.close()
    elif check_id in ("egress.claude-code-auxiliary", "client.sdk.inside-sandbox"):  # run as the agent, inside
        result = _run_behind_a_sandboxed_gateway(shared_upstream, check_id, faults)
    elif faults[0] in OPEN_PATHS:
        kind, feature = OPEN_PATHS[faults[0]]
        with kind(("127.0.0.1", shared_upstream.tls_port)) as open_path:
            result = _run(shared_upstream, open_path, check_id, COMMON_FEATURES | {feature})
    else:
        with _proxy(shared_upstream, *faults) as proxy:
            result = _run(shared_upstream, proxy, check_id)
    assert result.verdict == expected, f"{result.verdict}: {result.message} {_observed(result)}"
    if expected is INFO:
        diff = result.evidence.get("response_header_diff") or result.evidence.get("request_header_diff")
        assert diff["added"] == ["x-fault-proxy"]
    else:
        assert result.message and result.findings
        assert any(not f["ok"] for f in result.findings)
    assert "SENTINEL" not in repr(result.to_json())


def _srt_leaks_the_token(tmp_path, check_id: str, expected: Verdict) -> None:
    if os.geteuid() != 0 or not is_installed(Settings.from_env().cache_dir / _srt_folder()):
        pytest.skip("srt needs root and its install (python -m conformance prepare --target=srt)")
    process, document = run_checklist(tmp_path, "--target=srt-tls[mask=off]", f"--check={check_id}")
    rows = [r for r in document.get("results", []) if r["check"] == check_id]
    assert rows and rows[0]["verdict"] == expected.value, process.stdout[-2000:]
    assert any(not f["ok"] for f in rows[0]["findings"])
    assert "SENTINEL" not in process.stdout + json.dumps(document)


def _srt_folder() -> str:
    tools = load_pins().tools
    return f"srt-{tools['sandbox_runtime']}-node-{tools['node22']}"


# A benign change may show in the checks that exist to see it, and nowhere else: compression added to an
# uncompressed upstream is seen by the encoding check; the same per-event gzip behind a gzip upstream changes nothing.
SEES_BENIGN = {("gzip-per-event", "identity"): {"headers.content-encoding-kept": Verdict.PASS_NONSTRICT}}


@pytest.fixture(scope="module")
def identity_upstream() -> Iterator[UpstreamProcess]:
    """The reference upstream with compression off (the API before 2026-03, or a client that asks for none)."""
    with upstream_process(UpstreamConfig(gzip=False)) as upstream:
        yield upstream


# Re-chunking and header case go through together (each alone changed nothing either, in earlier runs): one
# whole checklist instead of two per upstream keeps CI in its time budget.
BENIGN_VARIANTS = ("gzip-per-event", "rechunk+header-case")


def test_the_benign_variants_cover_every_benign_change():
    """
    Every benign change of the fault proxy is in one of the variants the checklist runs through.
    """
    assert {c for v in BENIGN_VARIANTS for c in v.split("+")} == set(BENIGN)


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
@pytest.mark.parametrize("change", BENIGN_VARIANTS)
def test_every_check_passes_through_a_benign_change(shared_upstream, identity_upstream, change, encoding):
    """
    Re-chunked writes, gzip flushed per event and upper-case header names change nothing a client depends on:
    every check passes through them, behind a compressing upstream and an uncompressed one (no false alarm),
    the encoding check aside where compression was added.
    """
    upstream = shared_upstream if encoding == "gzip" else identity_upstream
    # Claude Code goes through each change once (behind one upstream each): its runs are most of the time here.
    with_claude_code = (change, encoding) in (("gzip-per-event", "gzip"), ("rechunk+header-case", "identity"))
    with _proxy(upstream, *change.split("+")) as proxy:
        results = _run_all(upstream, proxy, with_claude_code=with_claude_code)
    allowed = SEES_BENIGN.get((change, encoding), {})
    bad = [
        (r.check_id, r.verdict.value, r.message)
        for r in results
        if r.verdict not in (Verdict.PASS, Verdict.INFO, allowed.get(r.check_id))
        and not (r.verdict is Verdict.UNSUPPORTED and not REGISTRY[r.check_id].features <= COMMON_FEATURES)
    ]
    assert not bad
    for check_id, verdict in allowed.items():
        assert next(r for r in results if r.check_id == check_id).verdict is verdict


@pytest.mark.parametrize("check_id", ["client.sdk.inside-sandbox", "egress.claude-code-auxiliary"])
@pytest.mark.parametrize("change", BENIGN_VARIANTS)
def test_the_agent_inside_a_sandbox_passes_through_a_benign_change(shared_upstream, change, check_id):
    """
    The checklist's benign runs have no agent sandbox, so the checks that run the agent inside one (unsupported
    there) go through each benign change behind a sandboxed gateway here, as their faults do: they pass.
    """
    result = _run_behind_a_sandboxed_gateway(shared_upstream, check_id, tuple(change.split("+")))
    assert result.verdict is Verdict.PASS, f"{result.message} {_observed(result)}"


@pytest.mark.parametrize("check_id", ["sse.not-buffered", "client.claude-code.stream-unbuffered"])
def test_buffering_is_caught_behind_an_uncompressed_upstream_too(identity_upstream, check_id):
    """
    The buffering checks catch a buffering path whether or not the upstream compresses.
    """
    if check_id.startswith("client.claude-code.") and not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node/npm not installed: Claude Code checks are unsupported here")
    with _proxy(identity_upstream, "buffer-stream") as proxy:
        result = _run(identity_upstream, proxy, check_id)
    assert result.verdict is FAIL, result.message


def test_a_failing_gateway_never_grades_as_a_partial_pass(shared_upstream):
    """
    A gateway that answers everything with an HTML 502 gets fail or error on every check that needs an answer,
    never pass-nonstrict: a ``should`` check cannot grade what never arrived.
    """
    with _proxy(shared_upstream, "html-502") as proxy:
        results = _run_all(shared_upstream, proxy, with_claude_code=False)  # node clients: every check a must
    partial = [(r.check_id, r.message) for r in results if r.verdict is Verdict.PASS_NONSTRICT]
    assert not partial
    graded = {r.check_id: r.verdict for r in results}
    for check_id in ("errors.body-identical", "sse.bytes-identical", "sse.padding-and-ping", "endpoints.models"):
        assert graded[check_id] in (Verdict.FAIL, Verdict.ERROR), (check_id, graded[check_id])


# A well-formed stream with the API's framing, answered by a path that forwards nothing.
_CANNED_STREAM = b"".join(
    encode_event(name, data) for name, data in [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_local", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Hi"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 1}}),
        ("message_stop", {"type": "message_stop"}),
    ])


def test_a_stream_the_path_answers_itself_fails_the_sse_checks(shared_upstream):
    """
    A path that answers a stream itself, 200 and well formed, while the upstream receives nothing, fails the sse.*
    checks that compare with the upstream's stream: there was no upstream stream for it to carry.
    """
    class AnswersItself(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream; charset=utf-8")
            self.send_header("content-length", str(len(_CANNED_STREAM)))
            self.end_headers()
            self.wfile.write(_CANNED_STREAM)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), AnswersItself)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        for check_id in ("sse.content-type", "sse.event-sequence", "sse.data-json-equal", "sse.bytes-identical",
                         "sse.padding-and-ping"):
            result = check_through(shared_upstream, base_url, check_id)
            assert result.verdict is FAIL, (check_id, result.verdict, result.message)
            assert "upstream received no request" in result.message, result.message
    finally:
        server.shutdown()
        server.server_close()
