"""``python -m conformance bisect``: the first LiteLLM release where a check's verdict changed.

Each release is installed into its cached virtualenv (the oldest evicted past ``MAX_CACHED_RELEASES``) and the asked
checks run on it in a checklist of their own; the releases come from the package index's release list.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..core._exceptions import PathError
from ..core._releases import ReleaseLookupError, pypi_releases
from ..core._settings import Settings
from ..paths import split_targets
from ..report._timeline import TIMELINE
from ..run._bisect import Bisection, Observation, Observed, ReleaseUnavailable, bisect
from ..run._stability import run_once

ROOT = Path(__file__).resolve().parents[2]
MAX_CACHED_RELEASES = 12
"""LiteLLM virtualenvs kept in the cache (about 400 MB each); the least recently used go first."""
RUN_TIMEOUT_S = 900.0


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="litellm", help="litellm or litellm-unified, with its options (no "
                        "version): litellm[key=server-oauth]")
    parser.add_argument("--check", action="append", default=[], help="check id(s), comma-separated; without it "
                        "every check whose verdict differs between --good and --bad")
    parser.add_argument("--good", required=True, help="a release with the old verdict")
    parser.add_argument("--bad", required=True, help="a release with the new verdict")
    parser.add_argument("--releases", type=Path, default=None, help="a file with the release list, one per line "
                        "(default: the package index's list for litellm)")
    parser.add_argument("--record", type=Path, default=None, metavar="FILE",
                        help=f"keep each change found in FILE (the project's: {TIMELINE.relative_to(ROOT)})")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..paths.litellm import ensure_release

    checks = [c for value in args.check for c in value.split(",") if c]
    word = (split_targets([args.target]) or ["litellm"])[0]
    if "version=" in word:
        print("error: --target takes no version: give --good and --bad", file=sys.stderr)
        return 2
    try:
        releases = _release_list(args.releases)
    except (OSError, ReleaseLookupError) as exc:
        print(f"error: the release list: {exc}", file=sys.stderr)
        return 2
    started, installs = time.monotonic(), []

    def observe(release: str) -> Observed:
        was_cached = (settings.cache_dir / f"litellm-{release}").is_dir()
        try:
            ensure_release(release, settings.cache_dir, say=print)
        except PathError as exc:
            raise ReleaseUnavailable(f"does not install: {exc}") from None
        if not was_cached:
            installs.append(release)
        _evict(settings.cache_dir, keep={args.good, args.bad, release})
        print(f"observing {release} …", flush=True)
        return _observe(word, release, checks)

    try:
        result = bisect(releases, args.good, args.bad, checks, observe)
    except ReleaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    minutes = (time.monotonic() - started) / 60
    for line in _summary(result, word, len(installs), minutes):
        print(line)
    if args.record is not None:
        record(args.record, word, result, f"{len(result.observed)} releases observed, {minutes:.0f} min")
        print(f"recorded in {args.record}")
    return 0


def record(path: Path, word: str, result: Bisection, cost: str) -> None:
    """Keep each change of ``result`` in the timeline at ``path`` (one entry per check and target, replaced)."""
    import yaml

    data = yaml.safe_load(path.read_text()) if path.is_file() else None
    entries = [e for e in (data or {}).get("changes", [])
               if not any(e["check"] == c.check and e["target"] == word for c in result.changes)]
    for change in result.changes:
        entries.append({"check": change.check, "target": word, "from": change.before.verdict,
                        "to": change.after.verdict, "last_same": change.last_same,
                        "first_changed": change.first_changed, "not_observable": change.skipped,
                        "bisected": time.strftime("%Y-%m-%d", time.gmtime()), "cost": cost})
    header = "# LiteLLM releases where a verdict changed, found by python -m conformance bisect --record.\n"
    path.write_text(header + yaml.safe_dump({"changes": sorted(entries, key=lambda e: (e["target"], e["check"]))},
                                            sort_keys=False, width=110))


def _release_list(path: Path | None) -> list[str]:
    if path is not None:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return pypi_releases("litellm")


def _observe(word: str, release: str, checks: list[str]) -> Observed:
    """The asked checks (every check when none) on ``word`` at ``release``, in a checklist of their own."""
    base = word[:-1] + "," if word.endswith("]") else word + "["
    target = f"{base}version={release}]"
    with tempfile.TemporaryDirectory(prefix="egress-bisect-") as report:
        try:
            _, document, _ = run_once([f"--target={target}", *[f"--check={c}" for c in checks]], Path(report),
                                      timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ReleaseUnavailable(f"its checklist did not end within {RUN_TIMEOUT_S:.0f} s") from None
    if document is None:
        raise ReleaseUnavailable("its checklist wrote no results")
    results = document["results"]
    if results and all(r["verdict"] == "error" for r in results):  # the gateway did not start: nothing judged
        message = results[0]["message"]  # a start-up failure ends with the gateway's own last words
        raise ReleaseUnavailable("every check errored: " + (message if len(message) <= 240 else
                                                            f"{message[:80]} … {message[-160:]}"))
    return {r["check"]: Observation(r["verdict"], r["message"]) for r in results}


def _evict(cache_dir: Path, keep: set[str]) -> None:
    """Remove the least recently used LiteLLM virtualenvs past ``MAX_CACHED_RELEASES``, never ``keep`` nor the
    releases the project pins (its runs and tests use them)."""
    from ..core._settings import load_pins

    pins = load_pins()
    keep = keep | {pins.litellm, *pins.litellm_test_releases}
    venvs = sorted(cache_dir.glob("litellm-*"), key=lambda p: p.stat().st_mtime)
    for venv in venvs[:max(0, len(venvs) - MAX_CACHED_RELEASES)]:
        if venv.name.removeprefix("litellm-") not in keep:
            shutil.rmtree(venv, ignore_errors=True)


def _summary(result: Bisection, word: str, installs: int, minutes: float) -> list[str]:
    lines = [f"{word}: {len(result.observed)} releases observed ({installs} installed, "
             f"{minutes:.1f} min); unavailable: "
             + (", ".join(f"{r} ({why})" for r, why in result.unavailable.items()) or "none")]
    for change in result.changes:
        where = (f"first changed in {change.first_changed}" if change.exact else
                 f"changed between {change.last_same} and {change.first_changed} (not observable: "
                 f"{', '.join(change.skipped)})")
        lines += [f"{change.check}: {change.before.verdict} → {change.after.verdict}, {where}",
                  f"  {change.last_same}: {change.before.verdict}: {change.before.message[:200]}",
                  f"  {change.first_changed}: {change.after.verdict}: {change.after.message[:200]}"]
    if result.same:
        lines.append(f"same verdict on both: {', '.join(result.same)}")
    return lines
