"""Claude Code itself as a client: installed from npm into a cache folder the harness owns, run offline, isolated.

``claude -p … --output-format stream-json --verbose --include-partial-messages`` runs with its own HOME, the
no-nonessential-traffic variables, and the path's connection (base URL, or HTTPS_PROXY plus the run's CA). Every
stdout line is kept with the time it arrived, so streaming can be timed from Claude Code's side.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import _reaper
from ..core._exceptions import PathError
from ..core._install import is_installed, npm_install
from ..core._wire import API_BASE_URL
from ..paths import Connection


def _binary(version: str, cache_dir: Path) -> Path:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise PathError(f"Claude Code version {version!r} is not a version number")
    return cache_dir / f"claude-code-{version}" / "node_modules" / ".bin" / "claude"


def installed_claude_code(version: str, cache_dir: Path) -> Path:
    """The installed ``claude`` binary of ``version``; PathError naming the install command when it is missing.

    Checks call this, never the installer: an npm install inside a check's time bound is what made fresh machines
    fail, so the nox sessions (and the checklist session's start) install before any check runs.
    """
    binary = _binary(version, cache_dir)
    if not is_installed(binary.parents[2]):
        if shutil.which("node") is None or shutil.which("npm") is None:
            raise PathError("node/npm not installed")
        raise PathError(f"Claude Code {version} is not installed (python -m conformance claude-code-install {version})")
    return binary


def ensure_claude_code(version: str, cache_dir: Path) -> Path:
    """The ``claude`` binary of ``version``, installed with npm on first use; PathError when npm is missing."""
    binary = _binary(version, cache_dir)
    what = f"Claude Code {version}"
    npm_install(binary.parents[2], [f"@anthropic-ai/claude-code@{version}"], what)
    if not binary.exists():
        raise PathError(f"{what} cannot be installed: npm left no {binary.name} binary")
    return binary


@dataclass
class ClaudeRun:
    """One ``claude -p`` run: its exit code, every stream-json line with its arrival time, and stderr."""

    returncode: int | None
    lines: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    stderr: str = ""
    timed_out: bool = False
    queued_s: float = 0.0
    """Seconds spent waiting for a free run slot before the process started."""
    ran_s: float = 0.0
    """Seconds from process start to exit."""

    @property
    def result(self) -> dict[str, Any]:
        return next((line for _, line in reversed(self.lines) if line.get("type") == "result"), {})

    def text_deltas(self) -> list[tuple[float, str]]:
        """``(arrival, text)`` of every partial-message text delta Claude Code emitted."""
        out = []
        for at, line in self.lines:
            event = line.get("event") if line.get("type") == "stream_event" else None
            delta = event.get("delta", {}) if isinstance(event, dict) else {}
            if delta.get("type") == "text_delta":
                out.append((at, delta["text"]))
        return out


# A dozen runs at a time, not dozens: each starts a large binary (about 0.4 s of CPU). Most of a run's time is
# spent waiting (paced streams, Claude Code's own retry back-off), not computing: with three slots the local matrix
# queued its Claude Code checks for 30-50 s.
_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _run_slots(count: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore of ``count`` run slots (every check of the run shares it)."""
    with _slots_lock:
        return _slots.setdefault(count, threading.BoundedSemaphore(count))

# Claude Code's documented retry setting, the same for every run through a path and direct: the number of
# attempts (what a check compares) stays bounded, so a run measures behaviour rather than long back-off.
RETRY_ENV = {"CLAUDE_CODE_MAX_RETRIES": "2"}


class Cancelled(Exception):
    """The check that asked for this run ran out of time (or the run was stopped); nothing was started."""


def run_claude(binary: Path, connection: Connection, env: dict[str, str | None], prompt: str, *, ca_pem: str | None,
               timeout: float = 40.0, should_stop: Callable[[], bool] | None = None, slots: int = 12,
               queued: Callable[[], AbstractContextManager[None]] = nullcontext,
               prefix: list[str] | None = None) -> ClaudeRun:
    """Run one print-mode turn; always returns (a timeout or ``should_stop()`` kills the process group and says so).

    Every run gets a fresh HOME and config directory, so no state (settings, feature-flag cache, session
    history) carries from one run to the next. The wait for one of ``slots`` run slots happens inside
    ``queued()`` (the asking check's paused bound). ``prefix`` runs it inside something (an agent sandbox's
    ``ip netns exec``); a base URL of https://api.anthropic.com is left unset, as an unconfigured agent has it.
    """
    home = tempfile.mkdtemp(prefix="egress-claude-home-")
    base = {"PATH": os.environ.get("PATH", ""), "HOME": home, "CLAUDE_CONFIG_DIR": os.path.join(home, ".claude"),
            "XDG_CONFIG_HOME": os.path.join(home, ".config"), "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "TMPDIR": home, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1", "NO_PROXY": "127.0.0.1,localhost",
            "LANG": "C.UTF-8", **RETRY_ENV}
    if connection.proxy:
        base["HTTPS_PROXY"] = connection.proxy
    elif connection.base_url != API_BASE_URL:
        base["ANTHROPIC_BASE_URL"] = connection.base_url
    if ca_pem or os.environ.get("NODE_EXTRA_CA_CERTS"):  # the path's CA, else the user's own (a corporate CA)
        base["NODE_EXTRA_CA_CERTS"] = ca_pem or os.environ["NODE_EXTRA_CA_CERTS"]
    argv = [*(prefix or []), str(binary), "-p", prompt, "--output-format", "stream-json", "--verbose",
            "--include-partial-messages", "--max-turns", "4"]
    asked = time.monotonic()
    semaphore = _run_slots(slots)
    try:
        with queued():
            while not semaphore.acquire(timeout=0.2):
                if should_stop is not None and should_stop():
                    raise Cancelled("cancelled while waiting for a Claude Code slot")
        try:
            if should_stop is not None and should_stop():
                raise Cancelled("cancelled before Claude Code started")
            waited = time.monotonic() - asked
            merged = {k: v for k, v in {**base, **env}.items() if v is not None}  # None removes a variable
            run = run_json_lines(argv, merged, home, timeout, should_stop)
            run.queued_s, run.ran_s = round(waited, 2), round(time.monotonic() - asked - waited, 2)
            return run
        finally:
            semaphore.release()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_json_lines(argv: list[str], env: dict[str, str], home: str, timeout: float,
                   should_stop: Callable[[], bool] | None) -> ClaudeRun:
    """Run ``argv`` in its own process group, keeping every JSON line of its stdout with the time it arrived; the
    group is killed at ``timeout`` or when ``should_stop()`` turns true, and reaped in every case."""
    process = subprocess.Popen(argv, env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    _reaper.track(process)
    run = ClaudeRun(returncode=None)
    done = threading.Event()

    def watch() -> None:  # the time bound and the check's cancellation both end the run at once
        deadline = time.monotonic() + timeout
        while not done.wait(0.1):
            if time.monotonic() >= deadline or (should_stop is not None and should_stop()):
                _kill(process, run)
                return

    watcher = threading.Thread(target=watch, name="claude-watch", daemon=True)
    watcher.start()
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            try:
                run.lines.append((time.time(), json.loads(raw)))
            except ValueError:
                continue
        run.stderr = process.stderr.read() if process.stderr else ""
        run.returncode = process.wait()
    finally:
        done.set()
        _reaper.kill_group(process)  # helpers Claude Code left in its group go with it
        _reaper.untrack(process)
    return run


def _kill(process: subprocess.Popen[str], run: ClaudeRun) -> None:
    run.timed_out = True
    _reaper.kill_group(process)
