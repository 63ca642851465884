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

_LIVE: dict[int | str, Callable[[], None]] = {}
_LOCK = threading.Lock()
_CLOSING = threading.Event()
"""Set once the interpreter is going away (SIGTERM, exit): a child that starts after that is killed at once."""


def track(process: subprocess.Popen[bytes] | subprocess.Popen[str], stop: Callable[[], None] | None = None) -> None:
    """Reap ``process`` (its whole group) on exit unless it is untracked first; ``stop`` replaces the default kill.

    A child started while the harness is shutting down (a target still coming up when SIGTERM arrived) is killed
    right here: nothing would reap it later."""
    with _LOCK:
        _LIVE[process.pid] = stop or (lambda: kill_group(process))
    if _CLOSING.is_set():
        reap_all()


def untrack(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    with _LOCK:
        _LIVE.pop(process.pid, None)


def track_resource(key: str, remove: Callable[[], None]) -> None:
    """Run ``remove`` on exit unless ``untrack_resource(key)`` came first: for what a run makes that is not a process
    (a network namespace, its veth pair, its /etc/netns folder)."""
    with _LOCK:
        _LIVE[key] = remove
    if _CLOSING.is_set():
        reap_all()


def untrack_resource(key: str) -> None:
    with _LOCK:
        _LIVE.pop(key, None)


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


def close() -> None:
    """The interpreter is going away: reap everything now and everything that starts from now on."""
    _CLOSING.set()
    reap_all()


def _on_sigterm(signum: int, frame: object) -> None:
    # KeyboardInterrupt, not SystemExit: pytest ends the session on it (teardown, an interrupted results.json),
    # while a SystemExit inside a fixture or test is reported as that item's error and the run goes on.
    close()
    raise KeyboardInterrupt(f"signal {signum}")


def install() -> None:
    """Reap at exit and on SIGTERM. Call from the main thread before any child starts (the plugin's configure
    does): imported first from a thread that starts a target, the module could not install the handler."""
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError):
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)


atexit.register(close)
install()
