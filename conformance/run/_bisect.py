"""Which release changed a verdict: a binary search over the releases between a good and a bad one.

``observe(release)`` runs the asked checks on one release and returns each check's verdict and message (or raises
``ReleaseUnavailable`` when the release will not install or start: it is skipped, and the answer becomes a range).
Every release is observed once, for every asked check together, so the searches of several checks share runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version


class ReleaseUnavailable(Exception):
    """A release that cannot be observed (it does not install, or its gateway does not start)."""


@dataclass(frozen=True)
class Observation:
    verdict: str
    message: str


Observed = dict[str, Observation]


@dataclass
class Change:
    """Where one check's verdict changed between the good and the bad release."""

    check: str
    before: Observation
    after: Observation
    last_same: str
    """The newest release observed with the good release's verdict."""
    first_changed: str
    """The oldest release observed with another verdict."""
    skipped: list[str] = field(default_factory=list)
    """Releases between the two that could not be observed: the change is somewhere in this range."""

    @property
    def exact(self) -> bool:
        return not self.skipped


@dataclass
class Bisection:
    changes: list[Change]
    observed: list[str]
    unavailable: dict[str, str]
    same: list[str]
    """Asked checks whose verdict is the same on the good and the bad release."""


def releases_between(releases: Sequence[str], good: str, bad: str) -> list[str]:
    """The final releases strictly between ``good`` and ``bad`` (either order), oldest first; pre-releases and
    names that are not versions are left out."""
    low, high = sorted((Version(good), Version(bad)))
    found = []
    for name in releases:
        try:
            version = Version(name)
        except InvalidVersion:
            continue
        if low < version < high and not version.is_prerelease and not version.is_devrelease:
            found.append((version, name))
    return [name for _, name in sorted(found)]


def bisect(releases: Sequence[str], good: str, bad: str, checks: Sequence[str],
           observe: Callable[[str], Observed]) -> Bisection:
    """Find, for each check whose verdict differs between ``good`` and ``bad`` (all asked ``checks``, or every
    check that differs when none is asked), the first release of ``releases`` from ``good`` towards ``bad`` where
    it changed. The good and bad releases must be observable."""
    cache: dict[str, Observed] = {}
    unavailable: dict[str, str] = {}

    def seen(release: str) -> Observed | None:
        if release in unavailable:
            return None
        if release not in cache:
            try:
                cache[release] = observe(release)
            except ReleaseUnavailable as exc:
                unavailable[release] = str(exc)
                return None
        return cache[release]

    at_good, at_bad = seen(good), seen(bad)
    if at_good is None or at_bad is None:
        raise ReleaseUnavailable(f"{good if at_good is None else bad}: {unavailable.get(good) or unavailable[bad]}")
    asked = list(checks) or sorted(set(at_good) | set(at_bad))
    differing = [c for c in asked if c in at_good and c in at_bad and at_good[c].verdict != at_bad[c].verdict]
    path = [good, *releases_between(releases, good, bad), bad]
    if Version(good) > Version(bad):
        path = [good, *reversed(path[1:-1]), bad]
    changes = [_search(check, path, seen) for check in differing]
    return Bisection(changes=changes, observed=list(cache), unavailable=unavailable,
                     same=[c for c in asked if c not in differing])


def _search(check: str, path: list[str], seen: Callable[[str], Observed | None]) -> Change:
    """Binary search on ``path`` (good first, bad last) for the first release whose verdict is not good's."""
    good = seen(path[0])
    assert good is not None
    before = good[check]
    candidates = list(path)
    low, high = 0, len(candidates) - 1
    while high - low > 1:
        middle = (low + high) // 2
        observed = seen(candidates[middle])
        if observed is None or check not in observed:  # not observable: out of the search, the answer a range
            del candidates[middle]
            high -= 1
            continue
        if observed[check].verdict == before.verdict:
            low = middle
        else:
            high = middle
    last_same, first_changed = candidates[low], candidates[high]
    skipped = path[path.index(last_same) + 1:path.index(first_changed)]
    after = seen(first_changed)
    assert after is not None
    return Change(check, seen(last_same)[check], after[check], last_same, first_changed, skipped)  # type: ignore[index]
