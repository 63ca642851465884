"""
The shape ARCHITECTURE.md describes, kept: layers, one exception base, a light plugin, one file per target family.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conformance.core._exceptions import ConformanceError
from conformance.core._settings import load_pins
from conformance.paths import PathError, families, resolve_target
from conformance.upstream._problems import ApiError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "conformance"
# The layers, bottom up, each a folder of the package (ARCHITECTURE.md); a module may import its own layer and the
# ones below. The shim is deployed alone: it may import the vocabulary and nothing else.
LAYERS = ["core", "upstream", "paths", "clients", "checks", "results", "run", "report"]
ENTRY = {"plugin", "__main__", "cli"}
# A check area may share helpers only through these modules, never another area's private names.
CHECK_SHARED = {"_context", "_registry", "_requirements", "_payloads", "_probes", "_shared", "_client_runs", "_verify"}
# pytest's door into the checklist: collected with it, they are entry points that start a session.
PYTEST_ENTRY = {"checks/conftest.py", "checks/test_checklist.py"}


def _imports(path: Path) -> set[str]:
    """Every ``conformance…`` module or name ``path`` imports, relative imports resolved to absolute names."""
    here = ["conformance", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("conformance"):
                found |= {f"{target}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("conformance")}
    return found


def test_every_layer_is_a_folder_and_no_import_runs_back_up():
    """
    Every module of the harness sits in a layer's folder (or is an entry point), and imports only its own layer and
    the ones below it; the shim imports only the vocabulary.
    """
    problems = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            assert rel.stem in ENTRY | {"__init__"}, f"{rel} is not in a layer's folder"
            continue
        layer = rel.parts[0]
        if layer in ENTRY or rel.as_posix() in PYTEST_ENTRY:
            continue
        allowed = {"core"} if layer == "shim" else set(LAYERS[: LAYERS.index(layer) + 1])
        for name in _imports(path):
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else ""
            if target == "__version__" and layer == "results":
                continue  # the package's version, recorded in results.json
            if target not in allowed and not (layer == "shim" and target == "shim"):
                problems.append(f"{rel} imports {name} ({layer} → {target})")
    assert not problems, "\n".join(sorted(problems))


def test_layers_use_each_others_public_surface_and_check_areas_stay_apart():
    """
    Above the checklist, the checks are reached through ``conformance.checks`` (not ``checks._context``); a check
    area imports only the checklist's shared modules, never another area.
    """
    problems = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) < 4 or parts[1] != "checks":
                continue
            module = parts[2]
            if rel.parts[0] != "checks" and module.startswith("_"):
                problems.append(f"{rel} reaches into {'.'.join(parts[:3])}")
            if rel.parts[0] == "checks" and not rel.name.startswith("_") and rel.name != "__init__.py" \
                    and module not in CHECK_SHARED and module != rel.stem:
                problems.append(f"{rel} imports another area: {'.'.join(parts[:4])}")
    assert not problems, "\n".join(sorted(problems))


def test_every_harness_exception_has_one_base():
    """
    Path, scenario, input, check and API errors share ConformanceError; input errors are also ValueErrors.
    """
    import conformance.core._exceptions as exceptions

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
    Target families are found in conformance/paths/ (one file each, its FAMILY declared at its end); the local
    matrix of pins.toml names only targets they define; a target that cannot start still reports its family.
    """
    names = families()
    for word in load_pins().local_matrix:
        assert word.split("[")[0] in names
    for module in (PACKAGE / "paths").glob("[!_]*.py"):
        assert "\nFAMILY = Family(" in module.read_text(), module.name
    assert resolve_target("squid").family == "squid"  # was "deployed" until start() found the binary


def test_modules_stay_readable_in_one_sitting():
    """
    No module of the harness or its tests is over 400 lines.
    """
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "tests").glob("*.py")]:
        assert len(path.read_text().splitlines()) <= 400, path.relative_to(ROOT)
