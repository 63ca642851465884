"""A burst of Messages requests sent from a process of its own (``python -m conformance.run._loadgen``, a JSON spec on
stdin, one JSON list of ``[seconds, status]`` on stdout): in the harness's process the load generator and the
reference upstream shared one interpreter lock, and the upstream's own queue became most of what was measured.

It sends with aiohttp, not httpx: against the same upstream process, direct, httpx's async pool measured its own
queue (p99 2.7 s at 64 in flight, 4.0 s at 256) where aiohttp measured the upstream (54 ms and 185 ms).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import sys
import time
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from ..core._http import system_trust
from ..upstream import make_directive


class _PinnedResolver(AbstractResolver):
    """Every name resolves to one address: the connect override SNI gateways need (URL, Host and SNI unchanged)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
                      ) -> list[ResolveResult]:
        return [ResolveResult(hostname=host, host=self.host, port=self.port, family=socket.AF_INET, proto=0,
                              flags=socket.AI_NUMERICHOST)]

    async def close(self) -> None:
        return None


async def burst(spec: dict[str, Any]) -> list[tuple[float, int | None]]:
    """``spec["count"]`` non-streaming requests, ``spec["level"]`` in flight at a time: (seconds, status) each."""
    level = spec["level"]
    trust = system_trust(True)
    verify = ssl.create_default_context(cafile=spec["ca_pem"]) if spec.get("ca_pem") else trust
    connect_to = spec.get("connect_to")
    resolver = _PinnedResolver(*connect_to) if connect_to else None
    connector = aiohttp.TCPConnector(limit=level, ssl=verify, resolver=resolver)
    url = spec["base_url"].rstrip("/") + "/v1/messages"
    headers = [tuple(h) for h in spec["headers"]]
    gate = asyncio.Semaphore(level)
    async with aiohttp.ClientSession(connector=connector, trust_env=False,
                                     timeout=aiohttp.ClientTimeout(total=60, connect=10)) as session:
        async def one(i: int) -> tuple[float, int | None]:
            text = f"perf {make_directive(cid=f'perfc{level}x{i}x{time.monotonic_ns():x}')}"
            body = {"model": spec["model"], "max_tokens": 16, "messages": [{"role": "user", "content": text}]}
            async with gate:
                started = time.perf_counter()
                try:
                    async with session.post(url, json=body, headers=headers, proxy=spec.get("proxy")) as response:
                        await response.read()
                        status: int | None = response.status
                except (TimeoutError, aiohttp.ClientError, OSError):
                    status = None
                return time.perf_counter() - started, status

        return list(await asyncio.gather(*(one(i) for i in range(spec["count"]))))


if __name__ == "__main__":
    print(json.dumps(asyncio.run(burst(json.loads(sys.stdin.read())))))
