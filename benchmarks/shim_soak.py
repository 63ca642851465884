"""The shim's soak: N concurrent long streams for S seconds, direct and through the shim, with the same load.

Run: ``python benchmarks/shim.py --soak 60 [--soak-streams 1000]``. The reference upstream and the shim each run in
their own process (as deployed); the clients are one asyncio process. Prints lost events (every stream must carry
as many events as the same stream direct and end with message_stop), the added delay per event (p50 of arrival
minus the upstream's pace, through the shim minus direct), per request (time to the first byte, same), and the
shim's memory and open files before, at peak and after.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import aiohttp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from conformance.core._sse import decode_events, decode_timed  # noqa: E402
from conformance.paths._process import proc_status_mb  # noqa: E402
from conformance.paths.shim import start_shim  # noqa: E402
from conformance.upstream import DEFAULT_API_KEY, make_directive  # noqa: E402

HEADERS = {"x-api-key": DEFAULT_API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
INTERVAL_MS = 500


@dataclass
class Stream:
    cid: str
    chunks: list[tuple[float, bytes]]

    @property
    def events(self) -> list[str | None]:
        return [e.name for e in decode_events(b"".join(c for _, c in self.chunks))]


@dataclass
class Result:
    streams: list[Stream]
    probes: list[float]
    lags: list[float]


def _body(deltas: int, cid: str) -> dict:
    text = f"soak {make_directive(cid=cid, deltas=deltas, interval=INTERVAL_MS)}"
    return {"model": "claude-haiku-4-5", "max_tokens": 64, "stream": True,
            "messages": [{"role": "user", "content": text}]}


async def _one(session: aiohttp.ClientSession, url: str, deltas: int, cid: str) -> Stream:
    chunks: list[tuple[float, bytes]] = []
    try:
        async with session.post(url + "/v1/messages", json=_body(deltas, cid), headers=HEADERS) as response:
            async for chunk in response.content.iter_any():
                chunks.append((time.time(), chunk))
    except (aiohttp.ClientError, TimeoutError):
        pass
    return Stream(cid, chunks)


async def _probe(session: aiohttp.ClientSession, url: str, until: float) -> list[float]:
    """Non-streaming requests one after another while the streams run: milliseconds each."""
    body = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "probe"}]}
    times = []
    while time.monotonic() < until:
        started = time.perf_counter()
        async with session.post(url + "/v1/messages", json=body, headers=HEADERS) as response:
            await response.read()
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.1)
    return times


async def _lags(session: aiohttp.ClientSession, upstream: str, stream: Stream) -> list[float]:
    """Per event: arrival at the client minus the upstream's send time (ms), from the upstream's journal."""
    async with session.get(f"{upstream}/_conformance/journal", params={"cid": stream.cid}) as response:
        entries = (await response.json())["entries"]
    if not entries:
        return []
    sent = [(at, base64.b64decode(c)) for at, c in entries[-1]["chunks"]]
    theirs = [e.arrived_at for e in decode_timed(sent)]
    ours = [e.arrived_at for e in decode_timed(stream.chunks)]
    return [(b - a) * 1000 for a, b in zip(theirs, ours, strict=False) if a and b]


async def _load(url: str, upstream: str, streams: int, seconds: float, name: str) -> Result:
    deltas = int(seconds * 1000 / INTERVAL_MS)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=seconds * 3)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                     skip_auto_headers={"Accept-Encoding"}) as session:
        runs = [_one(session, url, deltas, f"soak{name}{i}") for i in range(streams)]
        probe = _probe(session, url, time.monotonic() + seconds)
        *done, probes = await asyncio.gather(*runs, probe)
        lags: list[float] = []
        for stream in done:
            lags += await _lags(session, upstream, stream)
    return Result(done, probes, lags)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status(pid: int, key: str) -> float:
    return proc_status_mb(pid, key.rstrip(":")) or 0.0


def soak(seconds: float, streams: int) -> None:
    upstream = subprocess.Popen([sys.executable, "-m", "conformance.upstream", "--no-gzip"],
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        url = upstream.stdout.readline().strip()  # type: ignore[union-attr]
        shim, shim_url = start_shim("soak-shim", url, "both")
        pid = shim.process.pid  # type: ignore[union-attr]
        try:
            before = (_status(pid, "VmRSS:"), len(os.listdir(f"/proc/{pid}/fd")))
            results = {}
            # The shim runs twice: a peak that does not grow the second time is memory reused, not leaked.
            for name, target in (("direct", url), ("shim", shim_url), ("shim again", shim_url)):
                started, cpu = time.monotonic(), _cpu_seconds(pid)
                results[name] = asyncio.run(_load(target, url, streams, seconds, name.replace(" ", "")))
                events = sum(len(s.events) for s in results[name].streams)
                print(f"{name}: {streams} streams x {seconds:.0f} s in {time.monotonic() - started:.1f} s; shim CPU "
                      f"{(_cpu_seconds(pid) - cpu) * 1e6 / max(events, 1):.0f} µs per event; shim peak "
                      f"{_status(pid, 'VmHWM:'):.0f} MB")
            settle = time.monotonic()
            while len(os.listdir(f"/proc/{pid}/fd")) > before[1] and time.monotonic() - settle < 30:
                time.sleep(0.5)  # pooled upstream connections close after their keep-alive
            after = (_status(pid, "VmRSS:"), len(os.listdir(f"/proc/{pid}/fd")))
            peak = _status(pid, "VmHWM:")
        finally:
            shim.stop()
    finally:
        os.killpg(upstream.pid, signal.SIGTERM)
        upstream.wait(10)
    expected = max(len(s.events) for s in results["direct"].streams)
    for name, result in results.items():
        lost = sum(expected - len(s.events) for s in result.streams)
        unfinished = sum(s.events[-1:] != ["message_stop"] for s in result.streams)
        print(f"{name}: lost events {lost} of {expected * len(result.streams)}; streams without message_stop "
              f"{unfinished}")
    results.pop("shim again")
    late = {n: statistics.median(r.lags) for n, r in results.items()}
    probe = {n: statistics.median(r.probes) for n, r in results.items()}
    print(f"per event, p50 arrival minus upstream send: direct {late['direct']:.2f} ms, shim {late['shim']:.2f} ms"
          f" → added {late['shim'] - late['direct']:.2f} ms (target < 1 ms)")
    print(f"per request during the soak, p50 of {len(results['shim'].probes)}: direct {probe['direct']:.2f} ms, "
          f"shim {probe['shim']:.2f} ms → added {probe['shim'] - probe['direct']:.2f} ms (target < 1 ms)")
    print(f"shim memory: {before[0]:.0f} MB before, {peak:.0f} MB peak, {after[0]:.0f} MB after; open files "
          f"{before[1]} before, {after[1]} after ({time.monotonic() - settle:.0f} s after the load)")
