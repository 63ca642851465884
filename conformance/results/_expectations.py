"""Known failures per target (``fixtures/expectations/<target>.yaml``), like web-platform-tests expectation files.

A result is ``ok`` (pass, info, unsupported — nothing to explain), ``expected`` (its verdict is listed, with a
reason), a ``regression`` (a fail, error or pass-nonstrict nobody listed, or a different one than listed) or an
``unexpected-pass`` (listed, but it passed: the file is stale). The gate fails on the last two, as pytest's
``xfail_strict`` does, so an expectations file never goes stale.

File format::

    target: litellm[key=server-oauth]
    expectations:
      - check: auth.oauth-accepted
        verdict: fail
        reason: the OAuth token goes upstream without the oauth beta; the upstream answers 401
        issue: https://github.com/BerriAI/litellm/issues/…      # optional
        releases: "<1.100"                                      # optional, against the target's version
    performance:                                                # optional: bounds on what --perf measures (ms)
      added_latency_ms.p50: 5
      added_event_gap_ms.p99: 20
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from ..core._exceptions import InputError
from ..core._fixtures import FIXTURES_DIR
from ..core._verdict import LISTABLE, QUIET

# The project's own; a repository that keeps its own next to its CI config sets EGRESS_CONFORMANCE_EXPECTATIONS
# (``Settings.expectations_dir``), which every entry point passes as ``directory``.
EXPECTATIONS_DIR = FIXTURES_DIR / "expectations"


@dataclass(frozen=True)
class Expectation:
    check: str
    verdict: str
    reason: str
    issue: str | None = None
    releases: str | None = None

    def applies_to(self, version: str | None) -> bool:
        return self.releases is None or version is None or in_range(version, self.releases)


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def in_range(version: str, spec: str) -> bool:
    """``1.90.1`` in ``">=1.80,<1.100"`` (comma-separated comparisons, all must hold)."""
    for part in filter(None, (p.strip() for p in spec.split(","))):
        match = re.match(r"(>=|<=|==|!=|>|<)\s*(\S+)", part)
        if not match:
            raise InputError(f"bad release range {spec!r}")
        op, bound = match.groups()
        a, b = _numbers(version), _numbers(bound)
        ok = {">=": a >= b, "<=": a <= b, "==": a == b, "!=": a != b, ">": a > b, "<": a < b}[op]
        if not ok:
            return False
    return True


def target_key(target: str) -> str:
    """The expectations key of a target word: the word without its ``version`` option (releases are ranges)."""
    match = re.match(r"^([^\[]+)(?:\[(.*)\])?$", target)
    if not match:
        return target
    name, options = match.group(1), match.group(2)
    kept = [o for o in (options or "").split(",") if o and not o.startswith("version=")]
    return f"{name}[{','.join(kept)}]" if kept else name


def file_for(target: str, directory: Path | None = None) -> Path:
    directory = directory or EXPECTATIONS_DIR
    key = target_key(target).replace("[", ".").replace("]", "").replace(",", ".")
    return directory / f"{key}.yaml"


def load(target: str, directory: Path | None = None) -> list[Expectation]:
    """The expectations of a target (empty when it has no file); a malformed file raises InputError naming it."""
    path = file_for(target, directory)
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text()) or {}
        entries = [Expectation(**{k: e.get(k) for k in ("check", "verdict", "reason", "issue", "releases")})
                   for e in data.get("expectations") or []]
    except (yaml.YAMLError, TypeError, AttributeError) as exc:
        raise InputError(f"malformed expectations file {path}: {' '.join(str(exc).split())}") from None
    for entry in entries:
        if not entry.check or entry.verdict not in LISTABLE or not entry.reason:
            raise InputError(f"malformed expectations file {path}: every entry needs check, verdict "
                             f"({'|'.join(LISTABLE)}) and reason ({entry.check})")
    return entries


def lookup(entries: list[Expectation], check: str, version: str | None) -> Expectation | None:
    for entry in entries:
        if entry.check == check and entry.applies_to(version):
            return entry
    return None


class Status(StrEnum):
    """A result against its target's expectations (the module's docstring says when each applies)."""

    OK = "ok"
    EXPECTED = "expected"
    REGRESSION = "regression"
    UNEXPECTED_PASS = "unexpected-pass"


CONTRADICTED = frozenset({Status.REGRESSION, Status.UNEXPECTED_PASS})
"""What fails the gate and the run."""


def classify(verdict: str, expected: Expectation | None) -> Status:
    """The result's status against ``expected``."""
    if expected is None:
        return Status.OK if verdict in QUIET else Status.REGRESSION
    if verdict == expected.verdict:
        return Status.EXPECTED
    if verdict in QUIET:
        return Status.UNEXPECTED_PASS
    return Status.REGRESSION


def compare(document: dict[str, Any], directory: Path | None = None) -> list[dict[str, Any]]:
    """Every result of a results document with its expectation status."""
    versions = {t["name"]: t.get("version") for t in document["run"]["targets"]}
    cache: dict[str, list[Expectation]] = {}
    out = []
    for result in document["results"]:
        target = result["target"]
        entries = cache.setdefault(target, load(target, directory))
        expected = lookup(entries, result["check"], versions.get(target))
        out.append({**result, "status": classify(result["verdict"], expected),
                    "expected": expected.__dict__ if expected else None,
                    "target_has_expectations": file_for(target, directory).exists()})
    return out


def cost_bounds(target: str, directory: Path | None = None) -> dict[str, float]:
    """The ``performance:`` bounds of a target's expectations file (``figure.quantile: ms``), or none."""
    path = file_for(target, directory)
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    bounds = data.get("performance") or {}
    if not isinstance(bounds, dict) or not all(isinstance(v, (int, float)) for v in bounds.values()):
        raise InputError(f"malformed expectations file {path}: performance maps figure.quantile to a number of ms")
    return {str(k): float(v) for k, v in bounds.items()}


def cost_breaches(document: dict[str, Any], directory: Path | None = None) -> list[str]:
    """One line per measured figure above its bound (``--perf`` runs); a bounded figure that was not measured is a
    breach too, so a bound can never pass by not being looked at."""
    lines = []
    for target, figures in (document.get("performance") or {}).items():
        for name, bound in cost_bounds(target, directory).items():
            figure, _, quantile = name.partition(".")
            value = (figures.get(figure) or {}).get(quantile) if isinstance(figures.get(figure), dict) else None
            if value is None:
                lines.append(f"{target}: {name} bounded at {bound:g} ms but not measured")
            elif value > bound:
                lines.append(f"{target}: {name} = {value:g} ms, over its bound of {bound:g} ms")
    return lines


def update(document: dict[str, Any], directory: Path | None = None) -> list[Path]:
    """Rewrite the expectations of every target in the run to match it, keeping reasons that still apply."""
    written = []
    by_target: dict[str, list[dict[str, Any]]] = {}
    for result in document["results"]:
        by_target.setdefault(result["target"], []).append(result)
    for target, results in by_target.items():
        old = {e.check: e for e in load(target, directory)}
        entries = []
        for result in results:
            if result["verdict"] in QUIET:
                continue
            previous = old.get(result["check"])
            entry: dict[str, Any] = {"check": result["check"], "verdict": result["verdict"],
                                     "reason": previous.reason if previous else
                                     f"observed in run {document['run']['id']}: {result['message'][:200]}"}
            if previous and previous.issue:
                entry["issue"] = previous.issue
            if previous and previous.releases:
                entry["releases"] = previous.releases
            entries.append(entry)
        path = file_for(target, directory)
        if entries:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump({"target": target_key(target), "expectations": entries},
                                           sort_keys=False, allow_unicode=True, width=120))
            written.append(path)
        elif path.exists():
            path.unlink()
            written.append(path)
    return written
