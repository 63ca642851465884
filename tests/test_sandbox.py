"""
Agent sandboxes (network namespaces): what an agent inside can reach, and that nothing of them outlives a run,
whether it ends normally, fails or is interrupted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conformance.paths import _sandbox
from conformance.paths._sandbox import API_ADDRESS, GATEWAY_ADDRESS, AgentSandbox, unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout


def _echo_server() -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        while True:
            conn, _ = server.accept()
            conn.sendall(b"gateway\n")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return int(server.getsockname()[1])


def test_a_closed_sandbox_reaches_its_gateway_and_nothing_else():
    """
    The agent reaches the published gateway, by address and by api.anthropic.com (its /etc/hosts); the API's own
    address is unreachable, other ports of the gateway side are refused. An open sandbox reaches the API.
    """
    port = _echo_server()
    closed = AgentSandbox(open=False).create()
    opened = AgentSandbox(open=True, api_host=API_ADDRESS).create()
    try:
        for sandbox in (closed, opened):
            sandbox.publish(GATEWAY_ADDRESS, 443, ("127.0.0.1", port))
            sandbox.publish(API_ADDRESS, 443, ("127.0.0.1", port))
        assert closed.try_connect(GATEWAY_ADDRESS, 443) == "connected"
        assert closed.try_connect(GATEWAY_ADDRESS, 22) == "refused"
        assert closed.try_connect(API_ADDRESS, 443) == "unreachable"
        assert opened.try_connect(API_ADDRESS, 443) == "connected"
        inside = subprocess.run(closed.exec_prefix() + [
            sys.executable, "-c", "import socket; print(socket.create_connection(('api.anthropic.com', 443)).recv(9))"],
            capture_output=True, text=True, timeout=20)
        assert "gateway" in inside.stdout, inside.stderr
    finally:
        closed.close()
        opened.close()
    assert closed.agent not in _namespaces() and closed.far not in _namespaces()
    assert not (_sandbox.NETNS_ETC / closed.agent).exists()


def test_a_sandbox_that_fails_half_made_is_removed():
    """
    When making the sandbox fails part way (here: its link cannot be made), what was made is removed.
    """
    sandbox = AgentSandbox()
    original = _sandbox._ip

    def failing(*args: str) -> None:
        if args[:2] == ("link", "add"):
            raise OSError("ip link add: simulated failure")
        original(*args)

    _sandbox._ip = failing
    try:
        with pytest.raises(OSError, match="simulated"):
            sandbox.create()
    finally:
        _sandbox._ip = original
    assert sandbox.agent not in _namespaces() and sandbox.far not in _namespaces()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_leaves_no_namespace_behind(how):
    """
    A process holding a sandbox that gets SIGTERM or Ctrl-C removes its namespaces and /etc/netns entry on the way
    out (the reaper), as a checklist run does.
    """
    code = ("import time, conformance.core._reaper as r; from conformance.paths._sandbox import AgentSandbox; "
            "r.install(); "
            "s = AgentSandbox().create(); print(s.agent, flush=True); time.sleep(60)")
    # SIGINT as a terminal gives it (a background job of a non-interactive shell would hand it down ignored).
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert process.stdout is not None
    agent = process.stdout.readline().strip()
    assert agent in _namespaces()
    process.send_signal(how)
    process.wait(20)
    deadline = time.monotonic() + 5
    while agent in _namespaces() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert agent not in _namespaces()
    assert not (_sandbox.NETNS_ETC / agent).exists()


def test_without_root_sandboxes_are_unsupported_with_the_reason(monkeypatch):
    """
    Not root: no namespace is attempted and the reason says what is missing.
    """
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "root" in (unavailable_reason() or "")
