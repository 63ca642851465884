"""Tools installed into the harness's cache folder (LiteLLM releases, Claude Code, mitmproxy, Portkey): one folder
per tool and release, installed once under a file lock, marked complete by a stamp file so a broken install is
retried rather than used."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ._exceptions import PathError
from ._settings import child_environment

STAMP = ".egress-installed"


def is_installed(folder: Path) -> bool:
    """Whether ``folder`` holds a completed install (no install is attempted)."""
    return (folder / STAMP).exists()


def cached_install(folder: Path, what: str, install: Callable[[Path], None],
                   say: Callable[[str], None] | None = None) -> Path:
    """``folder``, after running ``install(folder)`` once if it holds no completed install; concurrent callers (two
    runs, two targets) wait for the first one's install instead of racing it."""
    if is_installed(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed(folder):
            return folder
        if say is not None:
            say(f"installing {what} into {folder} (first use)")
        install(folder)
        (folder / STAMP).write_text(what)
    return folder


def npm_install(folder: Path, packages: list[str], what: str,
                say: Callable[[str], None] | None = None) -> Path:
    """``folder`` with ``packages`` (``name@version``) npm-installed into it once (``cached_install``); PathError
    when node or npm is missing."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise PathError("node/npm not installed (apt-get install nodejs npm)")

    def install(prefix: Path) -> None:
        run_install_step([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", *packages], what,
                         timeout=600)

    return cached_install(folder, what, install, say)


def venv_install(venv: Path, steps: Sequence[Sequence[str]], what: str) -> None:
    """A new virtualenv at ``venv`` with each step's ``pip install`` arguments installed in turn (pip reads the
    machine's own configuration: its indexes, find-links, constraints)."""
    run_install_step([sys.executable, "-m", "venv", "--clear", str(venv)], what)
    for step in steps:
        run_install_step([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                          *step], what)


def run_install_step(argv: list[str], what: str, *, timeout: float = 900, cwd: Path | None = None) -> None:
    """Run one install command; PathError with the last lines of its output when it fails."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                                env=child_environment())
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PathError(f"{what} cannot be installed: {exc}") from None
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise PathError(f"{what} cannot be installed: {tail}")
