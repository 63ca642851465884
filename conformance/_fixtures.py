"""Where the project's data files live (request bodies, recordings, schemas, path configs, expectations)."""

from __future__ import annotations

from pathlib import Path

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"
RECORDINGS_DIR = FIXTURES_DIR / "recordings"
SCHEMAS_DIR = FIXTURES_DIR / "schemas"


def pinned(name: str, env: str) -> str | None:
    """A pinned release recorded in noxfile.py as ``NAME = "X.Y.Z"``; the environment variable ``env`` overrides it."""
    import os
    import re

    override = os.environ.get(env)
    if override:
        return override
    noxfile = FIXTURES_DIR.parent / "noxfile.py"
    match = re.search(rf'^{name} = "([^"]+)"', noxfile.read_text(), re.M) if noxfile.exists() else None
    return match.group(1) if match else None
