"""Tools installed into the harness's cache folder (LiteLLM releases, Claude Code, mitmproxy, Portkey): one folder
per tool and release, installed once under a file lock, marked complete by a stamp file so a broken install is
retried rather than used."""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import threading
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
    """A new virtualenv at ``venv`` with each step's ``pip install`` arguments installed in turn. uv installs them
    when the harness has it, told pip's own configuration (indexes, find-links, constraints, CA bundle) so it
    resolves the same releases about five times faster; pip does when uv is missing or fails."""
    uv = _uv()
    if uv is not None:
        flags, env = _pip_configuration_for_uv()
        shutil.rmtree(venv, ignore_errors=True)  # what an earlier, unfinished install left (uv venv refuses it)
        try:
            run_install_step([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], what)
            for step in steps:
                run_install_step([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                                  "--compile-bytecode", *flags, *step], what, env=env)
            return
        except PathError:
            pass  # pip below decides, reading its configuration itself
    run_install_step([sys.executable, "-m", "venv", "--clear", str(venv)], what)
    for step in steps:
        run_install_step([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                          *step], what)


_uv_lock = threading.Lock()


@functools.cache
def _uv_binary() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv")
    try:
        return find_uv_bin()
    except (FileNotFoundError, TypeError):  # TypeError: uv 0.13's finder on a sysconfig without EXE
        return shutil.which("uv")


def _uv() -> str | None:
    """uv's binary, looked up once: prepare installs side by side, and sysconfig's first read (uv's finder makes
    it) is not safe to race in Python 3.11."""
    with _uv_lock:
        return _uv_binary()


# pip's settings that choose what gets installed, and uv's flag for each.
_UV_FLAGS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
             "constraint": "--constraint", "trusted-host": "--allow-insecure-host"}
# pip reads its sections in this order, a later one overriding an earlier one.
_PIP_SCOPES = {"global": 0, "install": 1, ":env:": 2}


def _pip_configuration_for_uv() -> tuple[list[str], dict[str, str]]:
    """pip's effective configuration (its files and ``PIP_*`` variables, as ``pip config list`` shows them) as uv's
    flags and environment, so a machine's package mirror and CA bundle apply to uv too."""
    try:
        listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                                timeout=60, env=child_environment()).stdout
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    chosen: dict[str, tuple[int, str]] = {}
    for line in listed.splitlines():
        name, _, value = line.partition("=")
        scope, _, key = name.rpartition(".")
        if scope in _PIP_SCOPES and _PIP_SCOPES[scope] >= chosen.get(key, (-1, ""))[0]:
            chosen[key] = (_PIP_SCOPES[scope], value.strip().strip("'\""))
    # Several indexes are searched for the best match, as pip does (uv's default stops at the first index that has
    # the package at all).
    flags = ["--index-strategy", "unsafe-best-match"]
    for key, flag in _UV_FLAGS.items():
        flags += [part for item in chosen.get(key, (0, ""))[1].split() for part in (flag, item)]
    if chosen.get("no-index", (0, ""))[1].lower() in ("1", "true", "yes", "on"):
        flags.append("--no-index")
    cert = chosen.get("cert", (0, ""))[1]
    return flags, ({"SSL_CERT_FILE": cert} if cert and "SSL_CERT_FILE" not in os.environ else {})


def run_install_step(argv: list[str], what: str, *, timeout: float = 900, cwd: Path | None = None,
                     env: dict[str, str] | None = None) -> None:
    """Run one install command (``env`` added to the child's environment); PathError with the last lines of its
    output when it fails."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                                env=child_environment(env))
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PathError(f"{what} cannot be installed: {exc}") from None
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise PathError(f"{what} cannot be installed: {tail}")
