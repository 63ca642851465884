"""
The other gateways (nginx, HAProxy, Squid, mitmproxy, Portkey): their production configs pass the tool's own
checker, and a started gateway leaves no process behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from conformance.core._exceptions import ToolMissing
from conformance.core._settings import Settings
from conformance.paths import Credentials, UpstreamSide, haproxy, mitmproxy, nginx, portkey, squid
from conformance.paths._system import system_binary
from conformance.upstream import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN, ReferenceUpstream

from ._helpers import process_alive

CHECKERS = [
    (nginx, "nginx", "nginx-light", "reverse.conf", lambda b, f: [b, "-t", "-c", str(f)]),
    (haproxy, "haproxy", "haproxy", "reverse.cfg", lambda b, f: [b, "-c", "-f", str(f)]),
    (haproxy, "haproxy", "haproxy", "sni.cfg", lambda b, f: [b, "-c", "-f", str(f)]),
    (squid, "squid", "squid", "connect.conf", lambda b, f: [b, "-k", "parse", "-f", str(f)]),
    (mitmproxy, "mitmproxy", "mitmproxy", "config.yaml",
     lambda b, f: [b, str(mitmproxy.MITMPROXY_DIR / "check_config.py"), str(f)]),
]


def _binary(name: str, package: str) -> str:
    if name == "mitmproxy":  # its own virtualenv in the cache; the checker runs with its python
        python = mitmproxy.mitmproxy_python(Settings.from_env().cache_dir)
        if python is None:
            pytest.skip("mitmproxy not installed (python -m conformance prepare --target=mitmproxy)")
        return str(python)
    try:
        return system_binary(name, package)
    except ToolMissing as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize(("module", "name", "package", "file", "command"), CHECKERS,
                         ids=[f"{c[1]}-{c[3]}" for c in CHECKERS])
def test_production_configs_pass_the_tools_own_checker(tmp_path, module, name, package, file, command):
    """
    fixtures/<family>/prod/ is what ``python -m conformance prod-configs`` writes today, and the tool accepts it.
    The check runs in a private mount and network namespace where api.anthropic.com resolves to loopback (both
    tools resolve upstream names when they read the config; this machine has no DNS).
    """
    binary = _binary(name, package)
    template = file.rsplit(".", 1)[0]
    committed = (module.TEMPLATES.folder / "prod" / file).read_text()
    assert committed == module.TEMPLATES.production(template), "run python -m conformance prod-configs"
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a private /etc/hosts")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost api.anthropic.com\n")
    config = tmp_path / file
    config.write_text(committed)
    script = f"mount --bind {hosts} /etc/hosts && " + " ".join(command(binary, config))
    done = subprocess.run(["unshare", "--mount", "--net", "sh", "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def tls_side() -> Iterator[UpstreamSide]:
    with ReferenceUpstream(also_tls=True) as upstream:
        assert upstream.ca is not None
        yield UpstreamSide(base_url=upstream.base_url, credentials=Credentials(DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN),
                           ca_pem=str(upstream.ca.ca_pem), tls_port=upstream.tls_port,
                           api_address=upstream.api_address)


@pytest.mark.parametrize("factory", [nginx.make_nginx, haproxy.make_haproxy, haproxy.make_haproxy_sni,
                                     squid.make_squid, mitmproxy.make_mitmproxy, portkey.make_portkey])
def test_a_started_gateway_answers_and_is_reaped(tls_side, factory):
    """
    Each gateway starts on a free port in its own process group, answers, and is gone after stop, with its log and
    its folder of config and temp files.
    """
    path = factory(factory.__name__, {})
    try:
        path.start(tls_side)
    except ToolMissing as exc:
        pytest.skip(str(exc))
    pid = path.process.process.pid
    files = [path.process.log_path, *([path.process.work_dir] if path.process.work_dir else [])]
    assert all(f.exists() for f in files)
    client = path.client(10)
    try:
        exchange = client.send("POST", "/v1/messages", headers=[("x-api-key", DEFAULT_API_KEY),
                                                                ("anthropic-version", "2023-06-01"),
                                                                ("content-type", "application/json"),
                                                                *path.route_headers],
                               body={"model": "claude-haiku-4-5", "max_tokens": 8,
                                     "messages": [{"role": "user", "content": "hi"}]})
    finally:
        client.close()
        path.stop()
    assert exchange.status == 200, exchange.error or exchange.body[:200]
    assert not process_alive(pid)
    assert not [f for f in files if f.exists()]


def test_the_upstream_answers_as_api_anthropic_com_on_port_443_of_a_loopback_address(tls_side):
    """
    A gateway that resolves api.anthropic.com itself (Squid's hosts file) reaches the upstream on port 443 of a
    loopback address of this run; asking twice gives the same address.
    """
    if tls_side.api_address is None:
        pytest.skip("no TLS upstream")
    try:
        address = tls_side.api_address()
    except PermissionError as exc:
        pytest.skip(str(exc))
    assert address.startswith("127.") and tls_side.api_address() == address
    import ssl

    import httpx

    context = ssl.create_default_context(cafile=tls_side.ca_pem)
    transport = httpx.HTTPTransport(verify=context)
    with httpx.Client(transport=transport, trust_env=False) as client:
        # The URL names api.anthropic.com; the connect goes to the address (what a hosts file does).
        response = client.get(f"https://{address}:443/v1/models", headers={"host": "api.anthropic.com",
                                                                           "x-api-key": DEFAULT_API_KEY,
                                                                           "anthropic-version": "2023-06-01"},
                              extensions={"sni_hostname": "api.anthropic.com"})
    assert response.status_code == 200, response.text[:200]
