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
    """A new virtualenv at ``venv`` with each step's install arguments installed in turn. uv installs a step when
    it is present and pip's configuration says nothing it cannot be told (``uv_arguments``): the same indexes,
    find-links and constraints, four times faster for LiteLLM; otherwise, or when uv fails, pip does."""
    run_install_step([sys.executable, "-m", "venv", "--clear", str(venv)], what)
    python = venv / "bin" / "python"
    uv = _uv_binary()
    configured = uv_arguments(_pip_configuration()) if uv is not None else None
    for step in steps:
        if uv is not None and configured is not None:
            try:
                run_install_step([uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python),
                                  "--index-strategy", "unsafe-best-match", *configured, *step], what)
                continue
            except PathError:
                pass  # pip, below, reads the machine's configuration itself; its failure is the one reported
        run_install_step([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *step], what)


# pip settings with a uv flag of the same meaning, and those that change nothing about what is installed.
_UV_FLAGS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
             "constraint": "--constraint"}
_NO_EFFECT = {"cert", "timeout", "default-timeout", "disable-pip-version-check", "progress-bar", "quiet", "verbose",
              "no-cache-dir", "cache-dir", "retries", "no-color", "no-input", "root-user-action",
              "break-system-packages"}


def uv_arguments(pip_config: str) -> list[str] | None:
    """uv's arguments for what ``pip config list`` printed (``global.find-links='/opt/wheels'`` lines, a later
    source overriding an earlier one as in pip), or None when a setting has no uv equivalent given here (a trusted
    host, a client certificate, a proxy): pip then installs."""
    settings: dict[str, str] = {}
    for line in pip_config.splitlines():
        key, equals, value = line.partition("=")
        name = key.rsplit(".", 1)[-1].strip()
        if not line.strip():
            continue
        if not equals or not name:  # a value spread over lines: read by pip alone
            return None
        settings[name] = value.strip().strip("'\"")
    arguments: list[str] = []
    for name, value in settings.items():
        if name == "no-index":
            arguments += ["--no-index"] if value.lower() in ("1", "true", "yes", "on") else []
        elif name in _UV_FLAGS:
            for one in value.split():
                arguments += [_UV_FLAGS[name], one]
        elif name not in _NO_EFFECT:
            return None
    return arguments


def _uv_binary() -> str | None:
    try:
        from uv import find_uv_bin  # the uv wheel (a dependency); a uv on PATH otherwise
        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _pip_configuration() -> str:
    result = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                            timeout=60, env=child_environment())
    return result.stdout if result.returncode == 0 else "unreadable=pip config list failed"


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
