"""Gateways installed as Debian packages (nginx, HAProxy, Squid): find the binary, or install it before a run.

``prepare`` hooks call ``apt_install`` outside every check; a target whose package is missing when it starts is
``unsupported`` with the command that installs it (``ToolMissing``), never a crash.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from ..core._exceptions import ToolMissing
from ..core._settings import child_environment

SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


_APT_LOCK = threading.Lock()


def system_binary(name: str, package: str) -> str:
    """The path of ``name`` (PATH, then the sbin folders), or ToolMissing naming the package to install."""
    found = shutil.which(name) or next((str(Path(d) / name) for d in SBIN if (Path(d) / name).exists()), None)
    if found is None:
        raise ToolMissing(f"{package} not installed (apt-get install {package}, or run the nox session as root)")
    return found


def tool_version(binary: str, pattern: str) -> str:
    """The version ``binary -v`` prints (stdout or stderr), as the first group of ``pattern``, or "unknown"."""
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=20)
    match = re.search(pattern, out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


def apt_install(packages: list[str], binaries: list[str], say: Callable[[str], None]) -> None:
    """Install the Debian ``packages`` unless their ``binaries`` are there; only as root, else say how. One apt-get
    at a time (dpkg's lock), whichever targets are being prepared side by side."""
    with _APT_LOCK:
        _apt_install(packages, binaries, say)


def _apt_install(packages: list[str], binaries: list[str], say: Callable[[str], None]) -> None:
    missing = [p for p, b in zip(packages, binaries, strict=True) if not _present(b)]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        say(f"note: {', '.join(missing)} not installed and not root: those targets will be unsupported")
        return
    say(f"installing {', '.join(missing)} (apt-get)")
    env = child_environment({"DEBIAN_FRONTEND": "noninteractive"})
    # Packages start their own service on install; the harness runs its own instances, so keep them from starting.
    policy = Path("/usr/sbin/policy-rc.d")
    wrote_policy = not policy.exists()
    if wrote_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        update = subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, text=True, timeout=300)
        if update.returncode != 0:
            say(f"note: apt-get update failed: {update.stderr.strip()[-200:]}")
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            say(f"note: apt-get install {' '.join(missing)} failed: {done.stderr.strip()[-200:]}")
    finally:
        if wrote_policy:
            policy.unlink(missing_ok=True)


def _present(binary: str) -> bool:
    try:
        system_binary(binary, binary)
    except ToolMissing:
        return False
    return True
