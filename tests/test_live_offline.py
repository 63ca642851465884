"""
Live mode proven before anyone spends a key: the checklist with ``--upstream=live`` runs inside an agent sandbox
where api.anthropic.com is the reference upstream over TLS (its CA trusted the way users trust a corporate one,
SSL_CERT_FILE and NODE_EXTRA_CA_CERTS), and the harness uses no journal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conformance.paths._sandbox import API_ADDRESS, AgentSandbox, unavailable_reason
from conformance.upstream import ReferenceUpstream, UpstreamConfig

from ._harness import run_checklist

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-ant-api03-LIVEREHEARSALkey000000000000000000000000000000000000000000"
TOKEN = "sk-ant-oat01-LIVEREHEARSALtoken0000000000000000000000000000000000000000"


@pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))
def test_the_checklist_in_live_mode_passes_or_says_unobservable(tmp_path):
    """
    direct and the transparent Envoy reverse proxy, in live mode: every check passes or is unsupported (the ones
    that need the upstream's journal say "upstream not observable"), none fails or errors, no key appears in any
    output, and every request went to the reference upstream (its journal, read here, outside the run).
    """
    config = UpstreamConfig(api_keys={KEY}, oauth_tokens={TOKEN})
    with ReferenceUpstream(config, tls=True) as upstream:
        assert upstream.ca is not None
        sandbox = AgentSandbox(open=True, api_host=API_ADDRESS).create()
        try:
            sandbox.publish(API_ADDRESS, 443, ("127.0.0.1", upstream.port))
            ca = str(upstream.ca.ca_pem)
            env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "CLAUDE_CODE_OAUTH_TOKEN": TOKEN, "SSL_CERT_FILE": ca,
                   "NODE_EXTRA_CA_CERTS": ca}
            run, document = run_checklist(tmp_path, "--upstream=live", "--target=direct,envoy", env=env,
                                          timeout=600, prefix=sandbox.exec_prefix())
        finally:
            sandbox.close()
        received = len(upstream.journal.entries())
    document = json.loads(next(tmp_path.rglob("results.json")).read_text())
    verdicts = {(r["check"], r["target"]): (r["verdict"], r["message"]) for r in document["results"]}
    bad = {k: v for k, v in verdicts.items() if v[0] in ("fail", "error")}
    assert not bad, (bad, run.stdout[-1500:])
    unobservable = [k for k, v in verdicts.items() if v[0] == "unsupported" and "not observable" in v[1]]
    for target in ("direct", "envoy"):  # the checks that judge from the client's side alone pass on both
        assert sum(1 for (_, t), v in verdicts.items() if t == target and v[0] == "pass") >= 5, run.stdout[-1500:]
    assert len(unobservable) > 100
    assert received > 100  # they all went to the reference upstream, by name, over TLS
    outputs = run.stdout + run.stderr + "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "LIVEREHEARSAL" not in outputs
