"""Reference upstream throughput: non-streaming requests/s, and concurrent SSE streams without lost or reordered events.

Run: ``python benchmarks/upstream.py [--seconds 5] [--streams 500]``. Targets (issue #2): ≥ 2,000 non-streaming
requests/s on one core; 500 concurrent SSE streams with every event delivered in order. The upstream runs in a
subprocess pinned to one core; the load generator (aiohttp client) runs on the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

import aiohttp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from conformance.core._sse import decode_events  # noqa: E402
from conformance.upstream import DEFAULT_API_KEY  # noqa: E402

HEADERS = {"x-api-key": DEFAULT_API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}


def _body(stream: bool, deltas: int = 3, interval: int = 0) -> bytes:
    text = f"bench [[ec deltas={deltas} interval={interval}]]"
    return json.dumps(
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 64,
            "stream": stream,
            "messages": [{"role": "user", "content": text}],
        }
    ).encode()


async def _requests_per_second(base: str, seconds: float, concurrency: int) -> tuple[int, float]:
    body = _body(False)
    done = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(base + "/v1/messages", data=body, headers=HEADERS) as response:
                    await response.read()
                    assert response.status == 200
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return done, elapsed


async def _streams(base: str, count: int, deltas: int) -> tuple[int, int, float]:
    body = _body(True, deltas=deltas, interval=20)
    expected = None
    bad = 0
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def one() -> list[str]:
            async with session.post(base + "/v1/messages", data=body, headers=HEADERS) as response:
                raw = await response.read()
            return [json.dumps(e.json()["delta"]) for e in decode_events(raw) if e.name == "content_block_delta"]

        start = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
        elapsed = time.perf_counter() - start
    for result in results:
        if isinstance(result, BaseException):
            bad += 1
            continue
        expected = expected or result
        if result != expected or len(result) != deltas:
            bad += 1
    return count - bad, bad, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--deltas", type=int, default=50)
    args = parser.parse_args()
    process = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-m", "conformance.upstream", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.join(os.path.dirname(__file__), ".."),
    )
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip()
        os.sched_setaffinity(0, {1} if os.cpu_count() and os.cpu_count() > 1 else {0})
        done, elapsed = asyncio.run(_requests_per_second(base, args.seconds, args.concurrency))
        print(
            f"non-streaming: {done} requests in {elapsed:.2f} s = {done / elapsed:,.0f} requests/s "
            f"(upstream on one core, {args.concurrency} connections; target >= 2,000)"
        )
        ok, bad, elapsed = asyncio.run(_streams(base, args.streams, args.deltas))
        print(
            f"streaming: {args.streams} concurrent streams x {args.deltas} deltas (20 ms apart): {ok} complete and "
            f"in order, {bad} lost/reordered/failed, {elapsed:.2f} s (target: 500 with 0 lost)"
        )
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
