"""Processes the harness starts (Envoy, LiteLLM, …): own session, log to a file, readiness poll, always reaped.

Every live process is tracked by ``conformance.core._reaper``, whose ``atexit`` hook and SIGTERM handler reap whatever a
failed or interrupted run left, so no path outlives the harness.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..core import _reaper
from ..core._exceptions import PathError
from ..core._settings import child_environment
from ..upstream import UPSTREAM_HOSTNAME
from ._base import Connection, EgressPath, UpstreamSide


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port`` (readiness of a gateway without a health URL)."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


# Ports free_port handed out lately. The kernel can give the same free port to two probes that start side by side
# (16 at once: a repeat in 1 round of 150), and Envoy and HAProxy listen with SO_REUSEPORT, so two gateways given one
# port both bind it and share its connections: a stability run saw envoy-defaults' requests reset and envoy-sni's
# TLS answered in plain HTTP, together.
_HANDED_OUT: deque[int] = deque(maxlen=4096)
_HANDED_OUT_LOCK = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed out lately."""
    with _HANDED_OUT_LOCK:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _HANDED_OUT:
                _HANDED_OUT.append(port)
                return port


class ManagedProcess:
    """One child process in its own session, its output in a log file, stopped with SIGTERM then SIGKILL."""

    def __init__(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
        work_dir: Path | None = None,
    ) -> None:
        """``env``: what the process needs beyond the machine's basics (``child_environment``: it never inherits the
        user's keys); ``work_dir``: a folder of its own files (its config, temp files), removed when it stops."""
        self.name = name
        self.argv = argv
        self.env = child_environment(env)
        self.cwd = cwd
        self.work_dir = work_dir
        self.log_path = Path(tempfile.mkstemp(prefix=f"egress-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_after: float | None = None
        self._group_reaped = False

    def start(self) -> None:
        log = self.log_path.open("wb")
        # Timed from before the spawn: with many targets starting side by side, Popen itself took long enough that
        # nginx listened before it returned, and its start-up read 0.0 s.
        self.started_at = time.perf_counter()
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise PathError(f"{self.name}: cannot start {self.argv[0]}: {exc.strerror or exc}") from None
        finally:
            log.close()
        _reaper.track(self.process, lambda: self.stop(grace=2.0))

    def wait_ready(self, probe: Callable[[], bool], timeout: float) -> float:
        """Poll ``probe`` until it is true; seconds from start to ready. Raises PathError with the log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise PathError(f"{self.name} exited with code {self.process.returncode}: {self.log_tail()}")
            try:
                if probe():
                    self.ready_after = time.perf_counter() - self.started_at
                    return self.ready_after
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.02)
        raise PathError(f"{self.name} not ready after {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def rss_mb(self) -> float | None:
        """Resident memory of the process, from /proc (None where unavailable)."""
        value = proc_status_mb(self.process.pid, "VmRSS") if self.process is not None else None
        return round(value, 1) if value is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds, remove its log; safe to call twice."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        elif process is not None and not self._group_reaped:
            # The leader died first (killed, crashed): what it started is still in its group (srt's socat bridges
            # and bubblewrap outlived a killed srt). The group keeps its id reserved while any member lives.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self._group_reaped = True
        if process is not None:
            _reaper.untrack(process)
            # Its tail is in the path's metadata or error by now; kept, every run left a file per process in /tmp.
            self.log_path.unlink(missing_ok=True)
        if self.work_dir is not None:  # every run left a folder per gateway in /tmp (thousands, over sessions)
            shutil.rmtree(self.work_dir, ignore_errors=True)


def proc_status_mb(pid: int, field: str) -> float | None:
    """A memory field of ``/proc/<pid>/status`` in MB (``VmRSS``, ``VmHWM`` for the peak); None where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class GatewayProcess(EgressPath):
    """A path that is one gateway process listening on a free loopback port (Envoy, nginx, HAProxy, Squid,
    mitmproxy, Portkey, srt): started, waited for, described, reaped the same way. A client reaches it at its own
    URL, or keeps api.anthropic.com's and goes through it as its HTTPS proxy (``forward_proxy``) or with only its
    TCP connect redirected to it (``sni_front``)."""

    process: ManagedProcess | None = None
    listen_port: int = 0
    ca_pem: str | None = None
    """The CA a client trusts on this path (the upstream's, or an inspecting proxy's own)."""
    forward_proxy: bool = False
    """Clients reach api.anthropic.com through it as their HTTPS proxy (CONNECT), not at its own URL."""
    sni_front: bool = False
    """Clients keep api.anthropic.com's URL, SNI and certificate check; only their TCP connect goes to it."""

    def require_tls_upstream(self, upstream: UpstreamSide) -> None:
        """PathError unless the upstream is served over TLS: this gateway talks TLS to api.anthropic.com."""
        if upstream.tls_port is None or upstream.ca_pem is None:
            raise PathError(f"{self.name} needs the upstream served over TLS (not available with this upstream)")

    def launch(self, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 20,
               ready: Callable[[], bool] | None = None, work_dir: Path | None = None, **metadata: str) -> None:
        """Start ``argv`` and wait until it listens (and ``ready()``, when given); record start-up time and RSS, and
        set the base URL clients use. ``work_dir`` (its config and temp files) is removed when it stops."""
        self.process = ManagedProcess(self.name, argv, env=env, work_dir=work_dir)
        self.process.start()
        seconds = self.process.wait_ready(lambda: listening(self.listen_port) and (ready is None or ready()),
                                          timeout=timeout)
        self.metadata.update({"startup_to_ready_s": round(seconds, 3), "rss_mb": self.process.rss_mb(), **metadata})
        in_front = self.forward_proxy or self.sni_front
        self.base_url = f"https://{UPSTREAM_HOSTNAME}" if in_front else f"http://127.0.0.1:{self.listen_port}"

    def trust(self) -> ssl.SSLContext:
        """The TLS context of a client that keeps api.anthropic.com's certificate check on this path."""
        assert self.ca_pem is not None
        return ssl.create_default_context(cafile=self.ca_pem)

    def connection(self) -> Connection:
        if self.forward_proxy:
            return Connection(self.base_url, verify=self.trust(), proxy=f"http://127.0.0.1:{self.listen_port}")
        if self.sni_front:
            return Connection(self.base_url, verify=self.trust(), connect_to=("127.0.0.1", self.listen_port))
        return super().connection()

    def reach_address(self) -> tuple[str, int]:
        return "127.0.0.1", self.listen_port

    def stop(self) -> None:
        if self.process is not None:
            self.metadata["log_tail"] = self.process.log_tail(3)
            self.process.stop()
