"""
The harness's own secret hygiene: the user's real keys never reach a child process's environment, a gateway key
can come from a file or a variable instead of the command line, and a malformed one is refused without echoing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.core._exceptions import InputError
from conformance.core._settings import Settings, auth_headers, child_environment
from conformance.paths._process import ManagedProcess
from conformance.paths.shim import start_shim
from conformance.upstream import UpstreamProcess

USERS_KEYS = {"ANTHROPIC_API_KEY": "sk-ant-api03-SENTINELreal000000000000000",
              "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-SENTINELreal000000000000000",
              "EGRESS_CONFORMANCE_OAUTH_TOKEN": "sk-ant-oat01-SENTINELconf000000000000000",
              "AWS_SECRET_ACCESS_KEY": "SENTINELaws"}


def _environ(pid: int) -> str:
    return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")


def test_children_never_see_the_users_keys(monkeypatch):
    """
    With real keys in the harness's environment, a gateway process, the shim and the reference upstream start with
    the machine's basics only (they reached every child that inherited the environment).
    """
    for name, value in USERS_KEYS.items():
        monkeypatch.setenv(name, value)
    assert not set(USERS_KEYS) & set(child_environment({"X": "1"})) and "PATH" in child_environment()
    gateway = ManagedProcess("hygiene", ["sleep", "30"], env={"GATEWAY_SETTING": "1"})
    upstream = UpstreamProcess()
    shim = None
    try:
        gateway.start()
        upstream.start()
        shim, _ = start_shim("hygiene-shim", upstream.base_url, "back")
        pids = [gateway.process.pid, upstream._process.pid, shim.process.pid]  # type: ignore[union-attr]
        environments = [_environ(pid) for pid in pids]
        assert all("SENTINEL" not in env for env in environments)
        assert "GATEWAY_SETTING=1" in environments[0] and all("PATH=" in env for env in environments)
    finally:
        gateway.stop()
        upstream.stop()
        if shim is not None:
            shim.stop()


def test_gateway_keys_come_from_a_file_or_a_variable():
    """
    ``HEADER: VALUE`` lines (``--auth-file``, ``EGRESS_CONFORMANCE_AUTH``) give the gateway's key without a
    command line that ``ps`` shows; a malformed line is named, its value never echoed.
    """
    text = "# gateway\nx-litellm-api-key: gw-SENTINEL-0001\n\nAuthorization: Bearer gw-SENTINEL-0002\n"
    assert auth_headers(text, "f") == (("x-litellm-api-key", "gw-SENTINEL-0001"),
                                       ("Authorization", "Bearer gw-SENTINEL-0002"))
    settings = Settings.from_env({"EGRESS_CONFORMANCE_AUTH": "x-gw-key: gw-SENTINEL-0003"})
    assert settings.proxy_auth == (("x-gw-key", "gw-SENTINEL-0003"),)
    with pytest.raises(InputError) as raised:
        auth_headers("just-a-SENTINEL-value", "EGRESS_CONFORMANCE_AUTH")
    assert "line 1" in str(raised.value) and "SENTINEL" not in str(raised.value)
