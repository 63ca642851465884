"""A burst of Messages requests sent from a process of its own (``python -m conformance._loadgen``, a JSON spec on
stdin, one JSON list of ``[seconds, status]`` on stdout): in the harness's process the load generator and the
reference upstream shared one interpreter lock, and the upstream's own queue became most of what was measured."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import time
from typing import Any

import httpx

from .upstream import make_directive


async def burst(spec: dict[str, Any]) -> list[tuple[float, int | None]]:
    """``spec["count"]`` non-streaming requests, ``spec["level"]`` in flight at a time: (seconds, status) each."""
    level = spec["level"]
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=spec["ca_pem"]) if spec.get("ca_pem") else True
    connect_to = spec.get("connect_to")
    gate = asyncio.Semaphore(level)
    limits = httpx.Limits(max_connections=level, max_keepalive_connections=level)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=10), trust_env=False, limits=limits,
                                 verify=verify, proxy=spec.get("proxy")) as client:
        async def one(i: int) -> tuple[float, int | None]:
            text = f"perf {make_directive(cid=f'perfc{level}x{i}x{time.monotonic_ns():x}')}"
            body = {"model": spec["model"], "max_tokens": 16, "messages": [{"role": "user", "content": text}]}
            request = client.build_request("POST", spec["base_url"].rstrip("/") + "/v1/messages", json=body,
                                           headers=[tuple(h) for h in spec["headers"]])
            if connect_to:  # the DNS override HarnessClient makes, for SNI gateways
                request.headers["host"] = request.url.netloc.decode()
                request.extensions["sni_hostname"] = request.url.host
                request.url = request.url.copy_with(host=connect_to[0], port=connect_to[1])
            async with gate:
                started = time.perf_counter()
                try:
                    status: int | None = (await client.send(request)).status_code
                except httpx.HTTPError:
                    status = None
                return time.perf_counter() - started, status

        return list(await asyncio.gather(*(one(i) for i in range(spec["count"]))))


if __name__ == "__main__":
    print(json.dumps(asyncio.run(burst(json.loads(sys.stdin.read())))))
