"""
Every check id named outside the registry names a registered check: a renamed check cannot leave a question, a
contract clause, an expectation or a document pointing at nothing.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from conformance.checks import AREAS, REGISTRY
from conformance.core._fixtures import FIXTURES_DIR

ROOT = Path(__file__).resolve().parents[1]


def _named_in_data() -> list[tuple[str, str]]:
    """(file, check id or glob) for every check named in the project's data files."""
    named: list[tuple[str, str]] = []
    for file in sorted((FIXTURES_DIR / "contract").glob("*.yaml")):
        for clause in yaml.safe_load(file.read_text())["clauses"]:
            named += [(file.name, c) for c in clause.get("checks") or ()]
    for file in sorted((FIXTURES_DIR / "expectations").glob("*.yaml")):
        named += [(file.name, e["check"]) for e in yaml.safe_load(file.read_text()).get("expectations") or ()]
    for file in sorted([*(FIXTURES_DIR / "questions").glob("*.yaml"), *(ROOT / "tests" / "questions").glob("*.yaml")]):
        for question in yaml.safe_load(file.read_text())["questions"]:
            named += [(file.name, c) for c in question.get("checks") or () if c != "@contract"]
    return named


def test_every_check_named_in_data_files_is_registered():
    """
    Contract clauses, expectations files and question files (ids or area globs) name registered checks only.
    """
    named = _named_in_data()
    assert len(named) > 100
    unknown = [(file, c) for file, c in named if not fnmatch.filter(REGISTRY, c)]
    assert not unknown


# A dotted name whose first part is a check area: `sse.bytes-identical`, `client.claude-code.plain-turn`.
_AREA = "|".join(re.escape(a) for a in AREAS)
_ID = re.compile(rf"`((?:{_AREA})\.[a-z0-9][a-z0-9.-]*[a-z0-9])(?:@[^`]*)?`")


@pytest.mark.parametrize("document", ["README.md", "ARCHITECTURE.md", "docs/checks.md"])
def test_every_check_named_in_the_documents_is_registered(document):
    """
    A check id in backticks in the project's documents is a registered check (or an area glob of them).
    """
    text = (ROOT / document).read_text()
    named = set(_ID.findall(text))
    unknown = sorted(n for n in named if not fnmatch.filter(REGISTRY, n) and not fnmatch.filter(REGISTRY, n + ".*"))
    assert not unknown


def test_every_area_has_checks_and_every_check_an_area():
    """
    The areas' order (reports list checks by it) holds every check's area and no empty area.
    """
    used = {c.area for c in REGISTRY.values()}
    assert used == set(AREAS)
