"""Agent sandboxes: network namespaces where a client runs as an agent pod would, able to reach only its gateway.

A sandbox is two namespaces joined by a veth pair. The agent's side (``10.203.0.2``) has no other address and, when
closed, no route beyond its link; its ``/etc/hosts`` is ``/etc/netns/<agent>/hosts``. The far side plays the
cluster: at ``10.203.0.1`` the harness publishes the gateway (a relay to its loopback listener, as a Service
fronts a Deployment) and at ``10.203.1.1:443`` the API itself, "the internet". A closed sandbox (the NetworkPolicy
of the spike) routes only to ``10.203.0.0/30``; an open one has a default route, so the API is reachable directly.
Made only as root; everything is removed on close, at exit and on SIGTERM (the reaper).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from ..core import _reaper
from ..core._background import end_other_tasks
from ..core._vocab import Feature

if TYPE_CHECKING:
    from ._base import EgressPath

GATEWAY_ADDRESS = "10.203.0.1"
AGENT_ADDRESS = "10.203.0.2"
API_ADDRESS = "10.203.1.1"
# The port a CONNECT gateway is published on in an agent sandbox (Squid's customary one).
GATEWAY_PORT_CONNECT = 3128
"""Where the API answers in the sandbox's world (its public address): reachable only from an open sandbox."""
NETNS_ETC = Path("/etc/netns")
_CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def unavailable_reason() -> str | None:
    """Why sandboxes cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    if shutil.which("ip") is None:
        return "iproute2 is not installed (apt-get install iproute2)"
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def in_netns(name: str, func: Callable[[], T]) -> T:
    """``func()`` run on a thread of its own that first enters network namespace ``name``: sockets it makes belong
    there for their whole life, and no other thread of the harness ever changes namespace."""
    box: list[T] = []
    errors: list[BaseException] = []

    def enter_and_run() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            if libc.setns(fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {name}")
            box.append(func())
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)
        finally:
            os.close(fd)

    thread = threading.Thread(target=enter_and_run, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]
    if not box:
        raise TimeoutError(f"work in namespace {name} did not finish")
    return box[0]


class _Relay:
    """TCP relays on sockets made in the far side, to targets on the harness's own loopback (one event loop)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sandbox-relay", daemon=True)
        self._thread.start()
        self._servers: list[asyncio.base_events.Server] = []

    def add(self, listener: socket.socket, target: tuple[str, int]) -> None:
        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            with contextlib.suppress(OSError):
                writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection(*target)
            except OSError:
                writer.close()
                return
            for sock in (writer.get_extra_info("socket"), up_writer.get_extra_info("socket")):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a relay must not hold small events
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def start() -> None:
            self._servers.append(await asyncio.start_server(handle, sock=listener))

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            await end_other_tasks()  # the connections still being relayed

        if self._loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class AgentSandbox:
    """One agent's network: ``open=False`` reaches only ``10.203.0.1``; ``open=True`` also routes to the API."""

    def __init__(self, *, open: bool = False, api_host: str = GATEWAY_ADDRESS) -> None:
        ident = secrets.token_hex(3)
        self.open = open
        self.agent = f"ec-agent-{ident}"
        self.far = f"ec-far-{ident}"
        self.api_host = api_host
        """The address api.anthropic.com names in the agent's /etc/hosts (the gateway, or the API when open)."""
        self.gateway: tuple[str, int] | None = None
        """Where the agent reaches its gateway (``publish_gateway``); None in a sandbox without one."""
        self._relay: _Relay | None = None
        self._made: list[str] = []

    def create(self) -> AgentSandbox:
        """Make the namespaces, the link and the hosts file; OSError (with the ip command) when that fails."""
        _reaper.track_resource(self.agent, self.close)
        try:
            for name in (self.agent, self.far):
                _ip("netns", "add", name)
                self._made.append(name)
            link = self.agent[-6:]
            _ip("link", "add", f"a{link}", "netns", self.agent, "type", "veth", "peer", "name", f"f{link}",
                "netns", self.far)
            for ns, dev, address in ((self.agent, f"a{link}", AGENT_ADDRESS), (self.far, f"f{link}", GATEWAY_ADDRESS)):
                _ip("-n", ns, "addr", "add", f"{address}/30", "dev", dev)
                _ip("-n", ns, "link", "set", dev, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", self.far, "addr", "add", f"{API_ADDRESS}/32", "dev", "lo")
            if self.open:
                _ip("-n", self.agent, "route", "add", "default", "via", GATEWAY_ADDRESS)
            etc = NETNS_ETC / self.agent
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(f"127.0.0.1 localhost\n{self.api_host} api.anthropic.com\n")
            self._relay = _Relay()
        except BaseException:
            self.close()
            raise
        return self

    def publish(self, address: str, port: int, target: tuple[str, int]) -> tuple[str, int]:
        """Make ``address:port`` of the far side answer as ``target`` (a listener on the harness's loopback)."""
        assert self._relay is not None, "create() first"

        def listen() -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(128)
            sock.setblocking(False)
            return sock

        self._relay.add(in_netns(self.far, listen), target)
        return address, port

    def publish_gateway(self, port: int, target: tuple[str, int]) -> tuple[str, int]:
        """Publish the gateway at ``10.203.0.1:port`` (the agent's one way out) and remember where."""
        self.gateway = self.publish(GATEWAY_ADDRESS, port, target)
        return self.gateway

    def exec_prefix(self) -> list[str]:
        """The argv prefix that runs a command as the agent (its network, its /etc/hosts)."""
        return ["ip", "netns", "exec", self.agent]

    def run_inside(self, argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as the agent, in a folder of its own (srt writes and removes files in its working folder,
        so two runs sharing one race each other); TimeoutExpired past ``timeout``."""
        with tempfile.TemporaryDirectory(prefix="egress-agent-") as folder:
            return subprocess.run([*self.exec_prefix(), *argv], capture_output=True, text=True, timeout=timeout,
                                  env=env, cwd=folder)

    def try_connect(self, host: str, port: int, timeout: float = 3.0) -> str:
        """What a TCP connect from the agent to ``host:port`` does: ``connected``, ``refused``, ``unreachable``
        (no route) or ``timeout``."""

        def attempt() -> str:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                try:
                    sock.connect((host, port))
                except ConnectionRefusedError:
                    return "refused"
                except TimeoutError:
                    return "timeout"
                except OSError as exc:
                    return "unreachable" if exc.errno in (101, 113) else f"error: {exc.strerror or exc}"
                return "connected"

        return in_netns(self.agent, attempt)

    def close(self) -> None:
        """Remove everything ``create`` made; safe to call twice."""
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        for name in reversed(self._made):
            with contextlib.suppress(OSError):
                _ip("netns", "del", name)
        self._made.clear()
        shutil.rmtree(NETNS_ETC / self.agent, ignore_errors=True)
        _reaper.untrack_resource(self.agent)


def sandbox_for(path: EgressPath, tls_port: int | None, http_port: int) -> AgentSandbox | None:
    """The agent sandbox of a path an agent reaches by name or proxy (SNI allowlist, CONNECT proxy): closed, only
    the gateway published; and of ``direct``: open, the API itself reachable (the negative control of the egress
    checks). The API's address is the reference upstream (``tls_port``, plain ``http_port``). None, with the reason
    in the path's unsupported features, where it cannot be made."""
    own = path.agent_sandbox()
    if own is not None:
        path.features = path.features | {Feature.SANDBOX}
        path.metadata["sandbox"] = {"agent": own.agent, "open": own.open, "gateway": None}
        return own
    connection = path.connection()
    gateway = connection.connect_to or _proxy_address(connection.proxy)
    if gateway is None and path.family != "direct":
        return None
    reason = unavailable_reason()
    if reason is None and tls_port is None:
        reason = "the API's address in a sandbox is the reference upstream's TLS listener (none in this mode)"
    if reason is None:
        port = GATEWAY_PORT_CONNECT if connection.proxy else 443
        sandbox = AgentSandbox(open=gateway is None, api_host=GATEWAY_ADDRESS if connection.connect_to else API_ADDRESS)
        try:
            sandbox.create()
            sandbox.publish(API_ADDRESS, 443, ("127.0.0.1", tls_port))  # type: ignore[arg-type]
            # Another port of "the internet" (the upstream's plain HTTP): what an open network also reaches.
            sandbox.publish(API_ADDRESS, 80, ("127.0.0.1", http_port))
            if gateway is not None:
                sandbox.publish_gateway(port, gateway)
        except OSError as exc:
            sandbox.close()
            reason = f"the agent sandbox could not be made: {exc}"
        else:
            path.features = path.features | {Feature.SANDBOX}
            path.metadata["sandbox"] = {"agent_netns": sandbox.agent, "open": sandbox.open,
                                        "gateway": ":".join(map(str, sandbox.gateway)) if sandbox.gateway else None}
            return sandbox
    path.unsupported_reasons["sandbox"] = reason
    return None


def _proxy_address(proxy: str | None) -> tuple[str, int] | None:
    if not proxy:
        return None
    parts = urlsplit(proxy)
    return parts.hostname or "127.0.0.1", parts.port or 80
