"""
Bisect: the first release where a verdict changed, in about log2 of the releases between, a release that cannot be
observed making the answer a range.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.run._bisect import Observation, ReleaseUnavailable, bisect, releases_between

ROOT = Path(__file__).resolve().parents[1]
RELEASES = [f"1.{minor}.{patch}" for minor in range(90, 111) for patch in range(6)] + ["1.100.0rc1", "nightly"]


class StandIn:
    """Releases whose behaviour flips at ``flips_at`` (the check fails from there on); ``broken`` ones do not
    install. Counts what was observed."""

    def __init__(self, flips_at: str, broken: tuple[str, ...] = ()) -> None:
        self.flips_at, self.broken, self.observed = flips_at, broken, []

    def __call__(self, release: str) -> dict[str, Observation]:
        from packaging.version import Version

        self.observed.append(release)
        if release in self.broken:
            raise ReleaseUnavailable("does not install")
        failing = Version(release) >= Version(self.flips_at)
        return {"errors.envelope-valid": Observation("fail" if failing else "pass", f"at {release}"),
                "sse.bytes-identical": Observation("pass", "held")}


def test_releases_between_are_final_releases_in_order():
    """
    Only final releases strictly between the two, oldest first, whichever way round they are given.
    """
    between = releases_between(RELEASES, "1.108.7", "1.90.1")
    assert between[0] == "1.90.2" and between[-1] == "1.108.5" and "1.100.0rc1" not in between
    assert between == releases_between(RELEASES, "1.90.1", "1.108.7")


def test_the_flip_is_found_in_log2_observations():
    """
    Between 1.90.1 and 1.108.7 (about a hundred releases) the flip at 1.101.3 is found observing the two ends and
    about log2 of the releases between; every asked check shares the runs, the unchanged one is said to be so.
    """
    stand_in = StandIn("1.101.3")
    result = bisect(RELEASES, "1.90.1", "1.108.7", [], stand_in)
    (change,) = result.changes
    assert (change.check, change.first_changed, change.last_same, change.exact) == \
        ("errors.envelope-valid", "1.101.3", "1.101.2", True)
    assert (change.before.verdict, change.after.verdict) == ("pass", "fail")
    between = len(releases_between(RELEASES, "1.90.1", "1.108.7"))
    assert len(stand_in.observed) <= 2 + math.ceil(math.log2(between + 1))
    assert result.same == ["sse.bytes-identical"]


def test_an_unobservable_release_makes_the_answer_a_range():
    """
    When the releases around the flip do not install, the answer is the range that holds it, naming them.
    """
    stand_in = StandIn("1.101.3", broken=("1.101.3", "1.101.2"))
    (change,) = bisect(RELEASES, "1.90.1", "1.108.7", ["errors.envelope-valid"], stand_in).changes
    assert not change.exact
    assert change.last_same == "1.101.1" and change.first_changed == "1.101.4"
    assert change.skipped == ["1.101.2", "1.101.3"]


def test_the_search_runs_towards_an_older_bad_release_too():
    """
    good newer than bad (a regression found by downgrading) searches the other way.
    """
    stand_in = StandIn("1.101.3")
    (change,) = bisect(RELEASES, "1.108.7", "1.90.1", ["errors.envelope-valid"], stand_in).changes
    assert (change.last_same, change.first_changed) == ("1.101.3", "1.101.2")


def test_an_end_that_cannot_be_observed_is_one_error():
    with pytest.raises(ReleaseUnavailable):
        bisect(RELEASES, "1.90.1", "1.108.7", [], StandIn("1.101.3", broken=("1.90.1",)))


def test_the_command_refuses_a_versioned_target_in_one_line(tmp_path):
    """
    ``python -m conformance bisect`` with a version in --target is one line, exit 2.
    """
    releases = tmp_path / "releases.txt"
    releases.write_text("1.90.1\n1.108.7\n")
    out = subprocess.run([sys.executable, "-m", "conformance", "bisect", "--target=litellm[version=1.90.1]",
                          "--good=1.90.1", "--bad=1.108.7", f"--releases={releases}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "no version" in out.stderr


def test_expectations_release_ranges_agree_with_the_bisected_timeline():
    """
    An expectation that applies to some LiteLLM releases only holds on the last release the timeline saw with the
    old verdict and not on the first with the new one: its range comes from bisect, not from a guess.
    """
    from conformance.report._timeline import load_timeline
    from conformance.results._expectations import in_range, load

    timeline = load_timeline()
    assert timeline, "fixtures/litellm/timeline.yaml holds no bisected change"
    checked = 0
    for entry in timeline:
        for expectation in load(entry["target"]):
            if expectation.check != entry["check"] or not expectation.releases:
                continue
            assert expectation.verdict == entry["from"], (entry, expectation)
            assert in_range(entry["last_same"], expectation.releases), (entry, expectation.releases)
            assert not in_range(entry["first_changed"], expectation.releases), (entry, expectation.releases)
            checked += 1
    assert checked


def test_the_timeline_shows_in_the_findings_of_a_litellm_run(tmp_path):
    """
    findings.md gets a row per recorded change of a check the run graded on a LiteLLM target, and none otherwise.
    """
    from conformance.report._timeline import timeline_lines

    path = tmp_path / "timeline.yaml"
    path.write_text("changes:\n- {check: request.metadata-kept, target: litellm, from: fail, to: pass, "
                    "last_same: 1.109.3, first_changed: 1.110.0, not_observable: []}\n")
    rows = timeline_lines([{"check": "request.metadata-kept", "target": "litellm[version=1.108.7]"}], path)
    assert any("| `request.metadata-kept` | `litellm` | fail → pass | 1.109.3 | 1.110.0 |" in r for r in rows)
    assert timeline_lines([{"check": "request.metadata-kept", "target": "envoy"}], path) == []


def test_record_keeps_one_entry_per_check_and_target(tmp_path):
    """
    ``--record`` adds each change to the timeline and replaces an earlier entry for the same check and target.
    """
    import yaml

    from conformance.cli._bisect import record

    path = tmp_path / "timeline.yaml"
    for flips_at in ("1.101.3", "1.99.0"):
        result = bisect(RELEASES, "1.90.1", "1.108.7", ["errors.envelope-valid"], StandIn(flips_at))
        record(path, "litellm", result, "test")
    (entry,) = yaml.safe_load(path.read_text())["changes"]
    assert (entry["check"], entry["target"], entry["first_changed"], entry["last_same"]) == \
        ("errors.envelope-valid", "litellm", "1.99.0", "1.98.5")
