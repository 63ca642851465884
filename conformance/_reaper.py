"""Every child process the harness starts is tracked here and killed with its process group on exit or signal.

Managed paths (Envoy, LiteLLM) and short client runs (Claude Code) both register; ``reap_all`` runs from the
session's teardown, from ``atexit`` and from the SIGTERM handler, so no child outlives an interrupted run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable

_LIVE: dict[int, Callable[[], None]] = {}
_LOCK = threading.Lock()


def track(process: subprocess.Popen[bytes] | subprocess.Popen[str], stop: Callable[[], None] | None = None) -> None:
    """Reap ``process`` (its whole group) on exit unless it is untracked first; ``stop`` replaces the default kill."""
    with _LOCK:
        _LIVE[process.pid] = stop or (lambda: kill_group(process))


def untrack(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    with _LOCK:
        _LIVE.pop(process.pid, None)


def kill_group(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """SIGKILL the process group of a child started with ``start_new_session=True`` (already gone is fine).

    The group is signalled even when its leader has exited, so helpers it left behind go too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


def live_count() -> int:
    with _LOCK:
        return len(_LIVE)


def reap_all() -> None:
    """Stop every tracked child that is still running."""
    with _LOCK:
        stops = list(_LIVE.values())
        _LIVE.clear()
    for stop in stops:
        with contextlib.suppress(Exception):
            stop()


def _on_sigterm(signum: int, frame: object) -> None:
    reap_all()
    raise SystemExit(128 + signum)


atexit.register(reap_all)
if threading.current_thread() is threading.main_thread():
    with contextlib.suppress(ValueError):
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)
