"""``UpstreamProcess``: the reference upstream in a process of its own, its journal read over HTTP.

A checklist run drives dozens of client threads in the harness's interpreter; an upstream sharing that interpreter
answers only when it gets the interpreter lock. Measured: 51 streamed requests took 0.5 s alone, 18 s beside four
busy threads in-process and 7 s with the upstream in its own process (130 s and 25 s beside sixteen), so recorded
replays through one gateway ran past three minutes inside the 19-target matrix. In its own process the upstream's
latency is the path's and the machine's, not the harness's.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..core import _reaper
from ..core._settings import child_environment
from ._config import UpstreamConfig

START_TIMEOUT_S = 30.0


def _child_env() -> dict[str, str]:
    """The machine's basics (no key of the user's: its own credentials come on stdin), with this package importable
    however the harness itself found it."""
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return child_environment({"PYTHONPATH": package_root + (os.pathsep + path if path else "")})


class UpstreamProcess:
    """A local api.anthropic.com served by ``python -m conformance.upstream --harness`` on free loopback ports.

    It serves plain HTTP (``base_url``; the journal at ``base_url + /_conformance/journal``) and HTTPS as
    api.anthropic.com from a per-run CA (``tls_port``, ``ca_pem``). It exits when this object stops it or when the
    harness's end of its stdin closes, so it never outlives the run, not even a killed one."""

    def __init__(self, config: UpstreamConfig | None = None) -> None:
        self.config = config or UpstreamConfig()
        self.base_url = ""
        self.tls_port: int | None = None
        self.ca_pem: Path | None = None
        self._api_address: str | None = None
        self._api_address_error = "not started"
        self._directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> UpstreamProcess:
        """Start the process and wait until it serves; raises RuntimeError with its log's tail when it does not."""
        self._directory = Path(tempfile.mkdtemp(prefix="egress-conformance-upstream-"))
        log = (self._directory / "upstream.log").open("wb")
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "conformance.upstream", "--harness", "--ca-dir", str(self._directory)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, start_new_session=True,
                env=_child_env(),
            )
        finally:
            log.close()
        _reaper.track(self._process, self.stop)
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(self.config.to_json()).encode() + b"\n")
            self._process.stdin.flush()  # kept open: its end-of-file tells the upstream the harness is gone
            ready = self._ready_line()
        except (OSError, RuntimeError, ValueError) as exc:
            self.stop()
            raise RuntimeError(f"the reference upstream did not start: {exc}") from None
        self.base_url = ready["base_url"]
        self.tls_port = ready["tls_port"]
        self.ca_pem = Path(ready["ca_pem"])
        self._api_address = ready.get("api_address")
        self._api_address_error = ready.get("api_address_error") or ""
        return self

    def _ready_line(self) -> dict[str, object]:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        stdout = self._process.stdout
        while time.monotonic() < deadline:
            readable, _, _ = select.select([stdout], [], [], 0.2)
            if readable:
                line = stdout.readline()
                if not line:
                    break
                return json.loads(line)
            if self._process.poll() is not None:
                break
        raise RuntimeError(f"no ready line within {START_TIMEOUT_S:.0f} s: {self.log_tail()}")

    @property
    def journal_url(self) -> str:
        return self.base_url

    @property
    def port(self) -> int:
        """The plain-HTTP port of ``base_url``."""
        return int(self.base_url.rsplit(":", 1)[1])

    def api_address(self) -> str:
        """A loopback address where this upstream answers HTTPS on port 443 as api.anthropic.com (for gateways that
        resolve the name themselves). Raises PermissionError where port 443 could not be bound."""
        if self._api_address is None:
            raise PermissionError(self._api_address_error)
        return self._api_address

    def log_tail(self, lines: int = 5) -> str:
        if self._directory is None:
            return ""
        with contextlib.suppress(OSError):
            text = (self._directory / "upstream.log").read_text(errors="replace").strip().splitlines()
            return " | ".join(text[-lines:])
        return ""

    def stop(self) -> None:
        """Close its stdin (it drains and exits), kill its group after 3 s; remove its folder. Safe to call twice."""
        process = self._process
        if process is not None:
            with contextlib.suppress(OSError, ValueError):
                assert process.stdin is not None
                process.stdin.close()
            try:
                process.wait(3)
            except subprocess.TimeoutExpired:
                _reaper.kill_group(process)
            with contextlib.suppress(OSError, ValueError):
                assert process.stdout is not None
                process.stdout.close()
            _reaper.untrack(process)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
