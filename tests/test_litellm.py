"""
LiteLLM paths: target options, release installs, and the whole checklist on an older and the newest release.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.checks import REGISTRY
from conformance.core._settings import Settings, load_pins
from conformance.core._verdict import Verdict
from conformance.paths import PathError, resolve_target
from conformance.paths.litellm import ensure_release, is_installed
from conformance.run._session import ChecklistSession, SessionOptions

# One release from 2026 H1 and the newest the package index serves (its proxy extra does not resolve here);
# the tests session installs them before pytest starts (conformance/pins.toml, litellm_test_releases).
RELEASES = load_pins().litellm_test_releases


def test_pins_are_package_data_and_settings_follow_them(monkeypatch):
    """
    The pinned releases come from conformance/pins.toml (shipped in the package; noxfile.py reads the same file),
    an EGRESS_CONFORMANCE_* variable overrides one, and the command line overrides both.
    """
    pins = load_pins()
    assert len(RELEASES) == 2 and pins.litellm not in RELEASES
    settings = Settings.from_env({})
    assert (settings.litellm_version, settings.claude_code_version) == (pins.litellm, pins.claude_code)
    env = {"EGRESS_CONFORMANCE_LITELLM_VERSION": "1.2.3", "EGRESS_CONFORMANCE_CACHE": "/x"}
    assert Settings.from_env(env).litellm_version == "1.2.3"
    assert Settings.from_env(env, litellm_version="4.5.6", claude_code_version=None).litellm_version == "4.5.6"
    assert str(Settings.from_env(env).cache_dir) == "/x"


@pytest.mark.parametrize("word", ["litellm[key=nope]", "litellm-unified[retries=sometimes]"])
def test_bad_target_options_are_one_clear_error(word):
    """
    An unknown key placement or retry setting names the choices.
    """
    with pytest.raises(PathError, match="must be"):
        resolve_target(word)


def test_a_release_that_cannot_be_installed_names_the_release(tmp_path):
    """
    A release the package index does not have fails with one line naming it.
    """
    with pytest.raises(PathError, match=r"LiteLLM 0\.0\.1 cannot be installed"):
        ensure_release("0.0.1", tmp_path)
    with pytest.raises(PathError, match="not a version number"):
        ensure_release("latest; rm -rf /", tmp_path)


# Four LiteLLM targets started and run through the checklist: 78 s beside another xdist worker, too near the
# default 120 s bound for a machine a little slower than this one.
@pytest.mark.timeout(240)
def test_checklist_completes_on_two_releases():
    """
    The whole checklist runs on both releases, pass-through and unified, and every check yields a verdict with
    its evidence; which verdicts come out is LiteLLM's business. Run metadata records version, start-up and memory.
    """
    missing = [r for r in RELEASES if not is_installed(r, Settings.from_env().cache_dir)]
    if missing:  # never installed inside this test's time bound; nox -s tests installs them first
        pytest.skip(f"LiteLLM {', '.join(missing)} not installed: python -m conformance litellm-install "
                    f"{' '.join(missing)}")
    targets = [f"{route}[version={release}]" for release in RELEASES for route in ("litellm", "litellm-unified")]
    lines: list[str] = []
    session = ChecklistSession(SessionOptions(targets=targets), say=lines.append)
    try:
        session.start()
        for target in targets:
            assert session.runs[target].startup_error is None, session.runs[target].startup_error
        # The node clients through LiteLLM are judged on the pinned release in the whole matrix; here, everything
        # else (accounting.* included: what the callback records differs between releases).
        checks = [c for c in REGISTRY if "claude-code" not in REGISTRY[c].features and not c.startswith(
            "client.ts-sdk.")]
        pairs = [(check, target) for target in targets for check in checks]
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda pair: session.run(*pair), pairs))
    finally:
        session.stop()
    assert len(results) == len(checks) * len(targets)
    crashed = [(r.check_id, r.target, r.message) for r in results
               if r.verdict is Verdict.ERROR and ("crashed" in r.message or "timed out" in r.message)]
    assert not crashed
    for target in targets:
        metadata = session.runs[target].path.describe()
        assert metadata["version"] in RELEASES and metadata["family"] == "litellm"
        assert metadata["startup_to_ready_s"] > 0 and metadata["rss_mb"]


def test_accounting_fails_when_litellms_callback_sees_no_cache_fields(session_upstream):
    """
    The pinned LiteLLM with the answers it gets stripped of their cache fields on the way from the upstream: its
    callback records no cache figures, and accounting.cache-tokens-recorded fails against the usage the upstream
    sent (the matrix shows the same LiteLLM straight on the upstream passing it).
    """
    from conformance.paths import Credentials, UpstreamSide
    from conformance.upstream import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN

    from ._harness import check_through
    from .faultproxy import FaultProxy

    settings = Settings.from_env()
    if not is_installed(settings.litellm_version, settings.cache_dir):
        pytest.skip(f"LiteLLM {settings.litellm_version} not installed (nox -s tests installs it first)")
    credentials = Credentials(DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN)
    with FaultProxy(session_upstream.base_url, "strip-cache-usage") as stripping:
        path = resolve_target("litellm")
        path.start(UpstreamSide(base_url=stripping.base_url, credentials=credentials, settings=settings))
        try:
            result = check_through(session_upstream, path, "accounting.cache-tokens-recorded",
                                   client=path.client(30), settings=settings)
        finally:
            path.stop()
    assert result.verdict is Verdict.FAIL, result.message
    assert "cache_creation_input_tokens recorded" in result.message or "cache_read_input_tokens recorded" in \
        result.message
