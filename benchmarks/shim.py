"""The shim's added latency against direct: per non-streaming request and per SSE event (target: < 1 ms p50).

Run: ``python benchmarks/shim.py [--requests 500] [--streams 20]``. The reference upstream runs in this process, the
shim as ``python -m conformance.shim`` (as deployed); requests are sequential on one keep-alive connection.
``--soak 60`` runs the soak instead (``benchmarks/shim_soak.py``: 1,000 concurrent streams for 60 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import httpx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from conformance.core._sse import decode_timed  # noqa: E402
from conformance.paths.shim import start_shim  # noqa: E402
from conformance.upstream import DEFAULT_API_KEY, ReferenceUpstream, make_directive  # noqa: E402

# identity: the reference upstream compresses for clients that ask, and per-event times are read from raw chunks.
HEADERS = {"x-api-key": DEFAULT_API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json",
           "accept-encoding": "identity"}


def _body(stream: bool, **directive: object) -> dict:
    return {"model": "claude-haiku-4-5", "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": f"bench {make_directive(**directive)}"}]}


def _request_times(base: str, count: int) -> list[float]:
    times = []
    with httpx.Client(base_url=base, headers=HEADERS, trust_env=False) as client:
        for _ in range(20):
            client.post("/v1/messages", json=_body(False))
        for _ in range(count):
            started = time.perf_counter()
            client.post("/v1/messages", json=_body(False)).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return times


def _event_lags(base: str, upstream: ReferenceUpstream, streams: int) -> list[float]:
    """Per event: client arrival minus upstream send time, in ms."""
    lags = []
    with httpx.Client(base_url=base, headers=HEADERS, trust_env=False) as client:
        for i in range(streams):
            cid = f"bench{i}{base[-5:]}"
            chunks = []
            with client.stream("POST", "/v1/messages", json=_body(True, cid=cid, deltas=30, interval=10)) as response:
                for chunk in response.iter_raw():
                    chunks.append((time.time(), chunk))
            sent = [e.arrived_at for e in decode_timed(upstream.journal.last(cid).chunks)]
            got = [e.arrived_at for e in decode_timed(chunks)]
            lags += [(b - a) * 1000 for a, b in zip(sent, got, strict=False) if a and b]
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--soak", type=float, default=0, help="seconds of the soak (0: no soak)")
    parser.add_argument("--soak-streams", type=int, default=1000)
    args = parser.parse_args()
    if args.soak:
        sys.path.insert(0, os.path.dirname(__file__))
        from shim_soak import soak

        soak(args.soak, args.soak_streams)
        return
    with ReferenceUpstream() as upstream:
        shim, shim_url = start_shim("bench-shim", upstream.base_url, "both")
        try:
            direct = statistics.median(_request_times(upstream.base_url, args.requests))
            through = statistics.median(_request_times(shim_url, args.requests))
            print(f"non-streaming, p50 of {args.requests}: direct {direct:.2f} ms, through the shim {through:.2f} ms"
                  f" → added {through - direct:.2f} ms (target < 1 ms)")
            direct_lag = statistics.median(_event_lags(upstream.base_url, upstream, args.streams))
            shim_lag = statistics.median(_event_lags(shim_url, upstream, args.streams))
            print(f"SSE, p50 per event over {args.streams} streams x 30 events: direct {direct_lag:.2f} ms, "
                  f"through the shim {shim_lag:.2f} ms → added {shim_lag - direct_lag:.2f} ms (target < 1 ms)")
        finally:
            shim.stop()


if __name__ == "__main__":
    main()
