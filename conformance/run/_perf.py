"""What a path costs, measured against direct in the same run: added latency, time to first byte and token, added
gap between SSE events, the same under concurrency, where errors start, cross-talk, start-up time and memory.

Every figure is a difference between the path and direct, sampled interleaved (path, direct, direct, path, …) so
machine drift cancels; targets are measured one at a time after the checklist, on a quiet machine.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..checks import TargetRun
from ..core._http import Exchange, HarnessClient
from ..core._settings import child_environment
from ..core._threads import parallel
from ..core._timing import lags
from ..paths import Connection
from ..paths._process import proc_status_mb
from ..upstream import UPSTREAM_HOSTNAME, make_directive

MODEL = "claude-haiku-4-5"


@dataclass(frozen=True)
class PerfConfig:
    """How much to measure (the defaults take about 20-40 s per target)."""

    requests: int = 60
    """Non-streaming requests per side for added latency."""
    streams: int = 20
    """Streams per side for time to first byte and token."""
    paced_events: int = 200
    paced_interval_ms: float = 10.0
    levels: tuple[int, ...] = (1, 16, 64)
    per_level: int = 64
    """Requests per side at each concurrency level."""
    onset_levels: tuple[int, ...] = (128, 256, 500)
    crosstalk_streams: int = 200


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``, rounded to 0.01 ms; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 2)


@dataclass(frozen=True)
class DirectTls:
    """Where direct is reached over TLS: the reference upstream's HTTPS port and the CA that signed it."""

    port: int
    ca_pem: str


class PathMeter:
    """Sends the same requests through one target and direct and times them."""

    def __init__(self, run: TargetRun, config: PerfConfig, direct_tls: DirectTls | None = None) -> None:
        self.run = run
        self.config = config
        # A path the client reaches over TLS (a TLS listener, a CONNECT tunnel) is compared with direct over TLS:
        # against plain HTTP, direct would be spared the handshakes and encryption the API itself costs (64 TLS
        # handshakes per burst were most of envoy-sni's 191 ms "added" at 64 in flight).
        path = run.path.connection()
        self.direct_ca_pem: str | None = None
        self.direct = Connection(run.observer.base_url)
        if direct_tls is not None and (path.base_url.startswith("https:") or path.proxy):
            self.direct_ca_pem = direct_tls.ca_pem
            self.direct = Connection(f"https://{UPSTREAM_HOSTNAME}",
                                     verify=ssl.create_default_context(cafile=direct_tls.ca_pem),
                                     connect_to=("127.0.0.1", direct_tls.port))
        credentials = run.observer.credentials
        self.path_headers = [("content-type", "application/json"), ("anthropic-version", "2023-06-01"),
                             *(run.path.client_auth("api-key", credentials) or [])]
        self.direct_headers = [("content-type", "application/json"), ("anthropic-version", "2023-06-01"),
                               ("x-api-key", credentials.api_key)]

    def client(self, direct: bool, connections: int = 8) -> HarnessClient:
        c = self.direct if direct else self.run.path.connection()
        return HarnessClient(c.base_url, timeout=60, verify=c.verify, proxy=c.proxy, connect_to=c.connect_to,
                             max_connections=connections)

    def send(self, client: HarnessClient, direct: bool, stream: bool = False, **directive: Any) -> Exchange:
        cid = f"perf{time.monotonic_ns():x}{threading.get_ident() % 9973:x}"
        text = f"perf {make_directive(cid=cid, **directive)}"
        body: dict[str, Any] = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": text}]}
        if stream:
            body["stream"] = True
        return client.send("POST", "/v1/messages", headers=self.direct_headers if direct else self.path_headers,
                           body=body, cid=cid)

    # -- the figures -------------------------------------------------------------------------------------------

    def added_latency(self) -> tuple[dict[str, float], list[float]]:
        """p50/p95/p99 of (path − direct) for non-streaming requests, paired and interleaved; and direct−direct
        spreads (the method's noise floor)."""
        path_c, direct_c = self.client(False), self.client(True)
        try:
            for _ in range(5):  # warm both: connections, LiteLLM's first-request work
                self.send(path_c, False)
                self.send(direct_c, True)
            added, noise = [], []
            for i in range(self.config.requests):
                first, second = (False, True) if i % 2 == 0 else (True, False)
                a = _timed(lambda d=first: self.send(direct_c if d else path_c, d))
                b = _timed(lambda d=second: self.send(direct_c if d else path_c, d))
                path_s, direct_s = (a, b) if not first else (b, a)
                added.append((path_s - direct_s) * 1000)
                c = _timed(lambda: self.send(direct_c, True))
                noise.append((c - direct_s) * 1000)
        finally:
            path_c.close()
            direct_c.close()
        return {"p50": quantile(added, 0.5), "p95": quantile(added, 0.95), "p99": quantile(added, 0.99)}, noise

    def added_ttfb(self) -> tuple[dict[str, float], dict[str, float]]:
        """p50/p95 of the added time to the first byte and to the first text delta of a stream."""
        path_c, direct_c = self.client(False), self.client(True)
        ttfb, ttft = [], []
        try:
            for i in range(self.config.streams):
                sides = {}
                for direct in ((False, True) if i % 2 == 0 else (True, False)):
                    ex = self.send(direct_c if direct else path_c, direct, stream=True, deltas=3)
                    sides[direct] = (_first_byte(ex), _first_token(ex))
                ttfb.append((sides[False][0] - sides[True][0]) * 1000)
                ttft.append((sides[False][1] - sides[True][1]) * 1000)
        finally:
            path_c.close()
            direct_c.close()
        return ({"p50": quantile(ttfb, 0.5), "p95": quantile(ttfb, 0.95)},
                {"p50": quantile(ttft, 0.5), "p95": quantile(ttft, 0.95)})

    def added_event_gap(self) -> dict[str, float]:
        """p50/p99 of the per-event added delay on a paced stream (client arrival − upstream send, path − direct),
        both streams running at once."""
        path_c, direct_c = self.client(False), self.client(True)
        try:
            def one(direct: bool) -> list[float]:
                ex = self.send(direct_c if direct else path_c, direct, stream=True,
                               deltas=self.config.paced_events, interval=self.config.paced_interval_ms)
                entries = self.run.observer.entries(ex.cid or "")
                return lags(ex, entries[-1] if entries else None)

            path_lags, direct_lags = parallel(one, [False, True])
        finally:
            path_c.close()
            direct_c.close()
        added = [(a - b) * 1000 for a, b in zip(path_lags, direct_lags, strict=False)]
        return {"p50": quantile(added, 0.5), "p99": quantile(added, 0.99)}

    def at_concurrency(self, level: int) -> dict[str, Any]:
        """Added p50/p99 latency with ``level`` requests in flight, sides run direct, path, path, direct (drift
        cancels); the direct-vs-direct difference is the instrument's own noise at that level; errors counted on
        both sides. The requests come from a process of their own (``_loadgen``), not from threads of this one."""
        runs: list[tuple[bool, list[float], int]] = []
        for direct in (True, False, False, True):
            count = max(level, self.config.per_level)
            done = self._burst(direct, level, count)
            runs.append((direct, [s * 1000 for s, status in done if status == 200],
                         sum(1 for _, status in done if status != 200)))

        def q(direct: bool, quant: float) -> float:
            values = [quantile(ms, quant) for d, ms, _ in runs if d == direct]
            return sum(values) / len(values)

        direct_runs = [ms for d, ms, _ in runs if d]
        return {"concurrency": level,
                "added_p50_ms": round(q(False, 0.5) - q(True, 0.5), 2),
                "added_p99_ms": round(q(False, 0.99) - q(True, 0.99), 2),
                "path_p99_ms": round(q(False, 0.99), 2),
                "direct_p99_ms": round(q(True, 0.99), 2),
                "noise_p50_ms": round(abs(quantile(direct_runs[0], 0.5) - quantile(direct_runs[1], 0.5)), 2),
                "errors": sum(e for d, _, e in runs if not d),
                "direct_errors": sum(e for d, _, e in runs if d)}

    def _burst(self, direct: bool, level: int, count: int) -> list[tuple[float, int | None]]:
        """``count`` non-streaming requests through one side, ``level`` in flight at a time: (seconds, status)."""
        c = self.direct if direct else self.run.path.connection()
        ca_pem = self.direct_ca_pem if direct else getattr(self.run.path, "ca_pem", None)
        spec: dict[str, Any] = {"level": level, "count": count, "model": MODEL, "base_url": c.base_url,
                                "headers": self.direct_headers if direct else self.path_headers, "proxy": c.proxy,
                                "connect_to": c.connect_to, "ca_pem": ca_pem}
        done = subprocess.run([sys.executable, "-m", "conformance.run._loadgen"], input=json.dumps(spec),
                              capture_output=True, text=True, timeout=300, check=False,
                              env=child_environment({"PYTHONPATH": str(Path(__file__).resolve().parents[2])}))
        if done.returncode != 0:
            raise RuntimeError(f"load generator failed: {done.stderr.strip()[-300:]}")
        return [(float(s), status) for s, status in json.loads(done.stdout)]

    def crosstalk(self) -> int:
        """How many of ``crosstalk_streams`` concurrent streams did not get exactly the bytes the upstream sent for
        their own request (matched by message id)."""
        client = self.client(False, connections=self.config.crosstalk_streams)
        try:
            done = parallel(lambda _i: self.send(client, False, stream=True, deltas=5, interval=5),
                            range(self.config.crosstalk_streams))
        finally:
            client.close()
        wrong = 0
        for ex in done:
            entries = self.run.observer.entries(ex.cid or "")
            theirs = _message_id(entries[-1].decoded_chunks) if entries else None
            mine = _message_id([(0.0, ex.body)])
            wrong += int(ex.status != 200 or mine is None or mine != theirs)
        return wrong


def measure(run: TargetRun, config: PerfConfig = PerfConfig(), say: Callable[[str], None] = print,
            direct_tls: DirectTls | None = None) -> dict[str, Any]:
    """The ``performance`` object of one target (results.json), measured now; with ``direct_tls``, a path reached
    over TLS is compared with direct over TLS."""
    meter = PathMeter(run, config, direct_tls)
    rss_idle = _rss_mb(run.path.pids())
    latency, noise = meter.added_latency()
    ttfb, ttft = meter.added_ttfb()
    gap = meter.added_event_gap()
    by_level = [meter.at_concurrency(level) for level in config.levels]
    base_p99 = by_level[0]["path_p99_ms"] if by_level else 0.0
    onset = None
    for level in config.onset_levels:
        figures = meter.at_concurrency(level)
        by_level.append(figures)
        # What the path adds: errors beyond direct's at that level, or a p99 ten times its own c=1 p99 *and* ten
        # times direct's at that level (direct's own growth is the instrument's and the upstream's limit).
        tenfold = base_p99 and figures["path_p99_ms"] > 10 * max(base_p99, figures["direct_p99_ms"])
        if figures["errors"] > figures["direct_errors"] or tenfold:
            onset = level
            break
    crosstalk = meter.crosstalk()
    rss_after = _rss_mb(run.path.pids())
    say(f"perf {run.path.name}: +{latency['p50']} ms p50, +{gap['p50']} ms per event, crosstalk {crosstalk}")
    return {
        "added_latency_ms": latency,
        "added_ttfb_ms": ttfb,
        "added_first_token_ms": ttft,
        "added_event_gap_ms": gap,
        "by_concurrency": by_level,
        "error_onset_concurrency": onset,
        "crosstalk_errors": crosstalk,
        "startup_s": run.path.metadata.get("startup_to_ready_s", run.path.metadata.get("startup_s")),
        "rss_mb": {"idle": round(rss_idle, 1) if rss_idle else None,
                   "after_load": round(rss_after, 1) if rss_after else None},
        "noise_floor_ms": {"p50": quantile([abs(n) for n in noise], 0.5), "p95": quantile([abs(n) for n in noise],
                                                                                          0.95)},
        "config": {**asdict(config), "direct_over": "tls" if meter.direct_ca_pem else "http"},
    }


def _rss_mb(pids: list[int]) -> float | None:
    """The resident memory of a path's processes together (LiteLLM and its shims count as one path)."""
    sizes = [proc_status_mb(pid, "VmRSS") for pid in pids]
    known = [s for s in sizes if s is not None]
    return sum(known) if known else None


def _timed(send: Callable[[], Exchange]) -> float:
    started = time.perf_counter()
    send()
    return time.perf_counter() - started


def _timed_exchange(send: Callable[[], Exchange]) -> tuple[float, Exchange]:
    started = time.perf_counter()
    exchange = send()
    return time.perf_counter() - started, exchange


def _first_byte(exchange: Exchange) -> float:
    return exchange.chunks[0][0] - exchange.sent_at if exchange.chunks else 0.0


def _first_token(exchange: Exchange) -> float:
    for event in exchange.events():
        if event.name == "content_block_delta":
            return (event.arrived_at or exchange.sent_at) - exchange.sent_at
    return 0.0


def _message_id(chunks: list[tuple[float, bytes]]) -> str | None:
    import re

    found = re.search(rb'"id":\s*"(msg_[A-Za-z0-9]+)"', b"".join(c for _, c in chunks))
    return found.group(1).decode() if found else None
