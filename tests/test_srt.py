"""
The srt family (Anthropic's sandbox-runtime): what a machine without it gets, and the settings a team deploys.
Its whole checklist runs in the local matrix (tests/test_matrix.py), its masked-credential fault in
tests/test_checks_fail.py.
"""

from __future__ import annotations

import json

from conformance.paths import srt

from ._harness import run_checklist


def test_without_srt_installed_its_checks_are_unsupported_with_the_command_that_installs_it(tmp_path):
    """An empty cache: no srt, no Node 22. One line, and every check unsupported with the prepare command."""
    cache = tmp_path / "cache"
    cache.mkdir()
    process, document = run_checklist(tmp_path / "run", "--target=srt-tls", "-k", "auth.api-key or egress.direct",
                                      env={"EGRESS_CONFORMANCE_CACHE": str(cache)})
    verdicts = {r["verdict"] for r in document["results"]}
    assert verdicts == {"unsupported"}, process.stdout[-1500:]
    assert all("prepare --target=srt" in r["message"] for r in document["results"])
    assert "Traceback" not in process.stdout + process.stderr


def test_the_deployable_settings_allow_the_apis_port_only_and_mask_the_anthropic_credentials():
    """The settings a team deploys list api.anthropic.com:443 alone (an entry without a port allows every port);
    the TLS-terminating ones mask the variables Claude Code and the SDKs read their credential from."""
    plain, tls = (json.loads(p.read_text()) for p in (srt.PROD_SETTINGS, srt.PROD_SETTINGS_TLS))
    for settings in (plain, tls):
        assert settings["network"]["allowedDomains"] == ["api.anthropic.com:443"]
    assert "tlsTerminate" in tls["network"] and "credentials" not in plain
    masked = {v["name"] for v in tls["credentials"]["envVars"] if v["mode"] == "mask"}
    assert {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"} <= masked
