"""
The shape ARCHITECTURE.md describes, kept: layers, one exception base, a light plugin, one file per target family.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conformance._exceptions import ConformanceError
from conformance._settings import load_pins
from conformance.paths import PathError, families
from conformance.upstream._problems import ApiError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "conformance"
# Layer 1: they may import each other and the standard library, nothing else of the harness.
FOUNDATION = {"_wire", "_exceptions", "_cassettes", "_verdict", "_settings", "_sse", "_encoding", "_errors",
              "_redact", "_ids", "_fixtures", "_reaper", "_threads", "_background", "_evidence", "_install",
              "_sandbox"}


def _harness_imports(path: Path) -> set[str]:
    """The first-level conformance modules ``path`` imports (relative imports resolved)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and path.parent == PACKAGE:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("conformance."):
            found.add(node.module.split(".")[1])
    return found


def test_the_foundation_layer_imports_nothing_above_it():
    """
    The vocabulary and plumbing modules import only each other: a fact defined there never depends on a check,
    a path or the upstream.
    """
    for name in sorted(FOUNDATION):
        above = _harness_imports(PACKAGE / f"{name}.py") - FOUNDATION
        assert not above, f"{name} imports {above}"


def test_every_harness_exception_has_one_base():
    """
    Path, scenario, input, check and API errors share ConformanceError; input errors are also ValueErrors.
    """
    import conformance._exceptions as exceptions

    for value in vars(exceptions).values():
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, ConformanceError)
    assert issubclass(PathError, ConformanceError) and issubclass(ApiError, ConformanceError)
    assert issubclass(exceptions.InputError, ValueError)


def test_the_plugin_imports_the_harness_lazily():
    """
    Loading the plugin imports neither the upstream (aiohttp), the clients (httpx, anthropic) nor the checklist.
    """
    code = ("import sys, conformance.plugin; print(sorted(m for m in ('aiohttp', 'httpx', 'anthropic', "
            "'conformance.checks', 'conformance.upstream') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_every_local_matrix_target_comes_from_a_family_file():
    """
    Target families are found in conformance/paths/ (one file each, FAMILIES at its end); the local matrix of
    pins.toml names only targets they define.
    """
    names = families()
    for word in load_pins().local_matrix:
        assert word.split("[")[0] in names
    for module in (PACKAGE / "paths").glob("[!_]*.py"):
        assert "\nFAMILIES = {" in module.read_text(), module.name


def test_modules_stay_readable_in_one_sitting():
    """
    No module of the harness or its tests is over 400 lines.
    """
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "tests").glob("*.py")]:
        assert len(path.read_text().splitlines()) <= 400, path.relative_to(ROOT)
