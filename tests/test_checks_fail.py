"""
Every check can fail: each runs against a fault-injecting proxy that breaks exactly what it asks about.

The same proxy with no fault passes every check, so each failure below is the fault's doing.
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.checks import REGISTRY, TargetRun
from conformance.clients._observer import UpstreamObserver
from conformance.core._http import HarnessClient
from conformance.core._verdict import Verdict
from conformance.paths import ALL_FEATURES, Connection, Credentials, EgressPath
from conformance.paths._sandbox import API_ADDRESS, AgentSandbox, unavailable_reason
from conformance.results._result import CheckResult
from conformance.run._engine import run_check
from conformance.upstream import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN, UpstreamConfig, UpstreamProcess
from conformance.upstream._tls import LocalCA

from ._helpers import run_every_check, upstream_process
from .faultproxy import PROXY_KEY_HEADER, FaultProxy
from .faults import BENIGN
from .openproxies import OpenConnectProxy, OpenTcpForwarder
from .usage_ledger import UsageLedger

PROXY_KEY = "sk-proxy-SENTINEL-0123456789abcdef"

FAIL, NONSTRICT, INFO = Verdict.FAIL, Verdict.PASS_NONSTRICT, Verdict.INFO
CASES: list[tuple[str, tuple[str, ...], Verdict]] = [
    ("auth.api-key-accepted", ("drop-request-header=x-api-key",), FAIL),
    ("auth.oauth-accepted", ("oauth-to-x-api-key",), FAIL),
    ("auth.header-kind-preserved", ("bearer-to-x-api-key",), FAIL),
    ("auth.header-kind-preserved", ("oauth-to-x-api-key",), FAIL),
    ("auth.oauth-beta-once", ("duplicate-beta",), FAIL),
    ("auth.oauth-beta-once", ("strip-beta",), FAIL),
    ("auth.invalid-credential-401", ("errors-to-500",), FAIL),
    ("auth.no-proxy-credential-upstream", ("leak-proxy-key",), FAIL),
    ("cache.control-forwarded", ("strip-cache-control",), FAIL),
    ("cache.usage-preserved", ("strip-cache-usage",), FAIL),
    ("cache.usage-preserved-streaming", ("strip-cache-usage",), FAIL),
    ("endpoints.count-tokens", ("block-path=/v1/messages/count_tokens",), FAIL),
    ("endpoints.models", ("block-path=/v1/models",), NONSTRICT),
    ("replay.recorded-exchanges", ("errors-to-500",), FAIL),
    ("contract.unknown-beta-and-version", ("normalise-anthropic-headers",), FAIL),
    ("contract.unknown-fields-kept", ("drop-unknown-fields",), FAIL),
    ("contract.beta-and-field-together", ("drop-body-field=context_management",), FAIL),
    ("contract.system-attribution-first", ("prepend-system",), FAIL),
    ("contract.client-headers-tolerated", ("reject-header=x-app",), FAIL),
    ("contract.user-agent-kept", ("replace-user-agent",), FAIL),
    ("contract.recovery-error-wording", ("wrap-errors",), FAIL),
    ("contract.recovery-error-wording", ("generic-error-message",), FAIL),
    ("contract.head-probe-tolerated", ("reset-head",), NONSTRICT),
    ("contract.models-discovery", ("redirect-models",), FAIL),
    ("contract.models-discovery", ("slow-models=4",), FAIL),
    ("contract.tool-streaming-and-references", ("empty-tool-input",), FAIL),
    ("errors.status-preserved", ("errors-to-500",), FAIL),
    ("errors.envelope-valid", ("wrap-errors",), FAIL),
    ("errors.type-and-message-preserved", ("wrap-errors",), FAIL),
    ("errors.body-identical", ("reserialize-json",), NONSTRICT),
    ("errors.retry-headers-preserved", ("drop-response-header=x-should-retry",), FAIL),
    ("errors.retry-headers-preserved", ("drop-response-header=retry-after",), FAIL),
    ("errors.stream-request-gets-json", ("stream-errors-as-sse",), FAIL),
    ("request.body-unchanged", ("drop-body-field=temperature",), FAIL),
    ("request.body-unchanged", ("reserialize-request",), NONSTRICT),
    ("request.version-and-beta-once", ("duplicate-version",), FAIL),
    ("request.version-and-beta-once", ("strip-beta",), FAIL),
    ("request.beta-query-kept", ("drop-query",), FAIL),
    ("request.metadata-kept", ("drop-body-field=metadata",), FAIL),
    ("request.no-duplicate-headers", ("duplicate-version",), FAIL),
    ("request.realistic-payload", ("waf",), FAIL),
    ("request_id.header-equal", ("drop-response-header=request-id",), FAIL),
    ("request_id.body-equal", ("wrap-errors",), FAIL),
    ("sse.content-type", ("sse-content-type",), FAIL),
    ("sse.event-sequence", ("drop-pings",), FAIL),
    ("sse.data-json-equal", ("mutate-text",), FAIL),
    ("sse.bytes-identical", ("reserialize-sse",), NONSTRICT),
    ("sse.padding-and-ping", ("reserialize-sse",), NONSTRICT),
    ("sse.padding-and-ping", ("drop-pings",), NONSTRICT),
    ("sse.not-buffered", ("buffer-stream",), FAIL),
    ("sse.not-buffered", ("delay-per-event=50",), FAIL),
    ("sse.per-event-delay", ("delay-per-event=50",), FAIL),
    ("sse.long-stream-not-cut", ("cut-after=2",), FAIL),
    ("sse.idle-gap-survives", ("idle-timeout=2",), FAIL),
    ("sse.midstream-error-delivered", ("drop-sse-errors",), FAIL),
    ("tools.definitions-intact", ("strip-schema-field",), FAIL),
    ("tools.tool-use-intact", ("empty-tool-input",), FAIL),
    ("tools.streamed-input-reassembles", ("empty-tool-input",), FAIL),
    ("tools.parallel-tool-use", ("first-tool-use-only",), FAIL),
    ("tools.result-roundtrip", ("strip-is-error",), FAIL),
    ("thinking.blocks-identical", ("reencode-signature",), FAIL),
    ("thinking.streamed-signature-identical", ("drop-signature-delta",), FAIL),
    ("thinking.replay-accepted", ("reencode-signature",), FAIL),
    ("thinking.signature-only-kept", ("drop-empty-thinking",), FAIL),
    ("thinking.interleaved-kept", ("strip-beta",), FAIL),
    ("stop.sequence-kept", ("normalise-stop-reason",), FAIL),
    ("server-tools.blocks-intact", ("drop-citations",), FAIL),
    ("server-tools.streamed-intact", ("drop-citations",), FAIL),
    ("server-tools.pause-turn-continues", ("normalise-stop-reason",), FAIL),
    ("errors.slow-response-not-cut", ("response-timeout=2",), FAIL),
    ("request.upstream-sni", ("tls-sni=example.com",), FAIL),
    ("egress.allowlist-sni", ("open-tcp-forwarder",), FAIL),
    ("egress.allowlist-connect", ("open-connect-proxy",), FAIL),
    ("egress.direct-blocked", ("open-sandbox",), FAIL),
    ("egress.only-allowed-hosts", ("open-sandbox",), FAIL),
    ("egress.claude-code-auxiliary", ("hold-nonessential=8",), FAIL),
    ("client.sdk.create-and-stream", ("mutate-text",), FAIL),
    ("client.sdk.retry-behaviour", ("drop-response-header=x-should-retry",), FAIL),
    ("client.sdk.auth-styles", ("oauth-to-x-api-key",), FAIL),
    ("client.ts-sdk.create-and-stream", ("mutate-text",), FAIL),
    ("client.ts-sdk.tool-round-trip", ("empty-tool-input",), FAIL),
    ("client.ts-sdk.retry-behaviour", ("drop-response-header=x-should-retry",), FAIL),
    ("client.ts-sdk.auth-styles", ("oauth-to-x-api-key",), FAIL),
    ("client.ts-sdk.midstream-error", ("drop-sse-errors",), FAIL),
    ("client.claude-code.plain-turn", ("mutate-text",), FAIL),
    ("client.claude-code.stream-unbuffered", ("buffer-stream",), FAIL),
    ("client.claude-code.stream-unbuffered", ("delay-per-event=50",), FAIL),
    ("client.claude-code.tool-turn", ("rewrite-tool-id",), FAIL),
    ("client.claude-code.oauth-turn", ("oauth-to-x-api-key",), FAIL),
    ("client.claude-code.error-text", ("wrap-errors",), FAIL),
    ("client.claude-code.recovery-wording", ("generic-error-message",), FAIL),
    ("client.claude-code.midstream-fallback", ("drop-sse-errors",), FAIL),
    ("accounting.tokens-recorded", ("ledger-first-usage",), FAIL),
    ("accounting.cache-tokens-recorded", ("strip-cache-usage",), FAIL),
    ("accounting.server-tool-usage-recorded", ("drop-citations",), FAIL),
    ("accounting.error-and-cut-recorded", ("ledger-skips-errors",), NONSTRICT),
    ("accounting.cost-uses-cache-prices", ("ledger-flat-price",), NONSTRICT),
    ("headers.response-diff", ("add-response-header",), INFO),
    ("headers.request-diff", ("add-request-header",), INFO),
    ("headers.content-encoding-kept", ("decode-content",), NONSTRICT),
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


def _run(
    upstream: UpstreamProcess, proxy: FaultProxy, check_id: str, features: frozenset[str] = ALL_FEATURES,
    sandbox: AgentSandbox | None = None,
) -> CheckResult:
    credentials = Credentials(DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN)
    path = _AccountedPath(name="fault-proxy", base_url=proxy.base_url, proxy_headers=[(PROXY_KEY_HEADER, PROXY_KEY)],
                          features=features, ledger=getattr(proxy, "ledger", None))
    observer = UpstreamObserver("reference", upstream.base_url, credentials, journal_url=upstream.journal_url)
    client = HarnessClient(proxy.base_url, timeout=30)
    direct = HarnessClient(upstream.base_url, timeout=30)
    try:
        run = TargetRun(path=path, observer=observer, client=client, direct=direct, sandbox=sandbox)
        return run_check(REGISTRY[check_id], run, timeout=60)
    finally:
        client.close()
        direct.close()
        observer.close()


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
                              features=ALL_FEATURES | {"sandbox"}, ca_pem=str(ca.ca_pem),
                              connect_to=("127.0.0.1", proxy._server.port))
        credentials = Credentials(DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN)
        observer = UpstreamObserver("reference", upstream.base_url, credentials, journal_url=upstream.journal_url)
        client = HarnessClient(upstream.base_url, timeout=30)
        try:
            run = TargetRun(path=path, observer=observer, client=client, direct=client, sandbox=sandbox)
            return run_check(REGISTRY[check_id], run, timeout=120)
        finally:
            client.close()
            observer.close()
    finally:
        proxy.stop()
        sandbox.close()
        shutil.rmtree(ca.ca_pem.parent, ignore_errors=True)


@dataclass
class _AccountedPath(EgressPath):
    """The fault proxy as a path that keeps usage accounting (its ledger), as LiteLLM with a callback does."""

    ledger: UsageLedger | None = None

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


def test_every_check_has_a_failing_case():
    """
    No check is without a broken path that it catches.
    """
    assert {c for c, _, _ in CASES} == set(REGISTRY)


@pytest.mark.parametrize(("check_id", "faults", "expected"), CASES, ids=[f"{c}[{','.join(f)}]" for c, f, _ in CASES])
def test_check_catches_its_fault(shared_upstream, check_id, faults, expected):
    """
    The check reaches the expected verdict against the broken path, with a message saying what broke.
    """
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
                result = _run(shared_upstream, proxy, check_id, ALL_FEATURES | {"sandbox"}, sandbox)
        finally:
            sandbox.close()
    elif check_id == "egress.claude-code-auxiliary":
        result = _run_behind_a_sandboxed_gateway(shared_upstream, check_id, faults)
    elif faults[0] in OPEN_PATHS:
        kind, feature = OPEN_PATHS[faults[0]]
        with kind(("127.0.0.1", shared_upstream.tls_port)) as open_path:
            result = _run(shared_upstream, open_path, check_id, ALL_FEATURES | {feature})
    else:
        with _proxy(shared_upstream, *faults) as proxy:
            result = _run(shared_upstream, proxy, check_id)
    assert result.verdict == expected, f"{result.verdict}: {result.message}"
    if expected is INFO:
        diff = result.evidence.get("response_header_diff") or result.evidence.get("request_header_diff")
        assert diff["added"] == ["x-fault-proxy"]
    else:
        assert result.message and result.findings
        assert any(not f["ok"] for f in result.findings)
    assert "SENTINEL" not in repr(result.to_json())


def test_every_check_passes_through_the_transparent_proxy(shared_upstream):
    """
    With no fault the proxy is transparent enough that every check passes (info checks observe nothing added).
    The node clients (Claude Code, the TypeScript SDK) go through it with the benign changes below, which would
    fail them if the bare proxy did (CI time).
    """
    with _proxy(shared_upstream) as proxy:
        results = _run_all(shared_upstream, proxy, with_claude_code=False)
    # Only allowlisting paths can answer egress.*; the proxy declares no allowlist, so those are unsupported.
    bad = [
        (r.check_id, r.verdict.value, r.message)
        for r in results
        if r.verdict not in (Verdict.PASS, Verdict.INFO)
        and not (r.check_id.startswith("egress.") and r.verdict is Verdict.UNSUPPORTED)
    ]
    assert not bad


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
        and not (r.check_id.startswith("egress.") and r.verdict is Verdict.UNSUPPORTED)
    ]
    assert not bad
    for check_id, verdict in allowed.items():
        assert next(r for r in results if r.check_id == check_id).verdict is verdict


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
