"""What the package registries list: every release of a PyPI package, the newest of an npm package. A registry that
cannot be reached, or answers nothing usable, is one ReleaseLookupError line naming the package."""

from __future__ import annotations

import shutil
import subprocess
import sys

from ._exceptions import HarnessError

LOOKUP_TIMEOUT_S = 60.0


class ReleaseLookupError(HarnessError):
    """The registry could not say which releases a package has (offline, a mirror without it, no npm)."""


def pypi_releases(package: str) -> list[str]:
    """Every release pip's index lists for ``package``, newest first (``pip index versions``)."""
    out = _run([sys.executable, "-m", "pip", "index", "versions", package, "--disable-pip-version-check"], package)
    line = next((x for x in out.splitlines() if x.startswith("Available versions:")), None)
    if line is None:
        raise ReleaseLookupError(f"the package index lists no releases of {package}")
    return [v.strip() for v in line.split(":", 1)[1].split(",") if v.strip()]


def newest_pypi(package: str) -> str:
    """The newest release of ``package`` on the package index."""
    return pypi_releases(package)[0]


def newest_npm(package: str) -> str:
    """The release npm's ``latest`` tag names for ``package``."""
    npm = shutil.which("npm")
    if npm is None:
        raise ReleaseLookupError(f"npm is not installed: no release list for {package}")
    version = _run([npm, "view", package, "version"], package).strip().splitlines()
    if not version:
        raise ReleaseLookupError(f"npm lists no release of {package}")
    return version[-1].strip()


def _run(argv: list[str], package: str) -> str:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=LOOKUP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ReleaseLookupError(f"the registry did not answer for {package} within {LOOKUP_TIMEOUT_S:.0f} s") \
            from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReleaseLookupError(f"the registry could not list {package}: {last[:200]}")
    return completed.stdout
