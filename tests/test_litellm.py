"""
LiteLLM paths: target options, release installs, and the whole checklist on an older and the newest release.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance._session import ChecklistSession, SessionOptions
from conformance._verdict import Verdict
from conformance.checks import REGISTRY
from conformance.paths import PathError, resolve_target
from conformance.paths.litellm import ensure_release, is_installed, pinned_version

# One release from 2026 H1 and the newest the package index serves (its proxy extra does not resolve here);
# the tests session installs them before pytest starts (noxfile.py, LITELLM_TEST_RELEASES).
RELEASES = ("1.90.1", "1.110.2")


def test_test_releases_are_the_noxfile_ones():
    """
    The releases this file runs are the ones the tests session installs beforehand.
    """
    assert f"LITELLM_TEST_RELEASES = {RELEASES!r}".replace("'", '"') in open("noxfile.py").read()


def test_pinned_release_comes_from_the_noxfile():
    """
    The default release is the one recorded in noxfile.py.
    """
    text = open("noxfile.py").read()
    assert f'LITELLM_VERSION = "{pinned_version()}"' in text


@pytest.mark.parametrize("word", ["litellm[key=nope]", "litellm-unified[retries=sometimes]"])
def test_bad_target_options_are_one_clear_error(word):
    """
    An unknown key placement or retry setting names the choices.
    """
    with pytest.raises(PathError, match="must be"):
        resolve_target(word)


def test_a_release_that_cannot_be_installed_names_the_release(tmp_path, monkeypatch):
    """
    A release the package index does not have fails with one line naming it.
    """
    monkeypatch.setenv("EGRESS_CONFORMANCE_CACHE", str(tmp_path))
    with pytest.raises(PathError, match=r"LiteLLM 0\.0\.1 cannot be installed"):
        ensure_release("0.0.1")
    with pytest.raises(PathError, match="not a version number"):
        ensure_release("latest; rm -rf /")


def test_checklist_completes_on_two_releases():
    """
    The whole checklist runs on both releases, pass-through and unified, and every check yields a verdict with
    its evidence; which verdicts come out is LiteLLM's business. Run metadata records version, start-up and memory.
    """
    missing = [r for r in RELEASES if not is_installed(r)]
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
        pairs = [(check, target) for target in targets for check in REGISTRY]
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda pair: session.run(*pair), pairs))
    finally:
        session.stop()
    assert len(results) == len(REGISTRY) * len(targets)
    crashed = [(r.check_id, r.target, r.message) for r in results
               if r.verdict is Verdict.ERROR and ("crashed" in r.message or "timed out" in r.message)]
    assert not crashed
    for target in targets:
        metadata = session.runs[target].path.describe()
        assert metadata["version"] in RELEASES and metadata["family"] == "litellm"
        assert metadata["startup_to_ready_s"] > 0 and metadata["rss_mb"]
