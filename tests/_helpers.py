"""Small helpers shared by the harness's own tests."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from conformance.upstream import DEFAULT_API_KEY, UpstreamConfig, UpstreamProcess, make_directive

_counter = itertools.count(1)


@contextlib.contextmanager
def upstream_process(config: UpstreamConfig | None = None) -> Iterator[UpstreamProcess]:
    """The reference upstream in a process of its own, as a checklist run has it. For tests that drive a whole
    checklist (sixteen check threads, a fault proxy or shim) from this interpreter: an upstream sharing it answers
    only between them (the slowest such test ran 112 s beside the other xdist worker with the upstream in-process)."""
    upstream = UpstreamProcess(config).start()
    try:
        yield upstream
    finally:
        upstream.stop()


def child_pids(parent: int, matches: Callable[[list[bytes]], bool]) -> set[int]:
    """The children of process ``parent`` whose command line (argv) ``matches``: only those a given harness process
    started, since the other xdist workers may run the same programs at the same time."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and matches(argv):
            found.add(int(entry.name))
    return found


def process_alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


def new_cid(prefix: str = "t") -> str:
    return f"{prefix}{next(_counter):05d}"


def api_headers(**extra: str) -> dict[str, str]:
    headers = {"x-api-key": DEFAULT_API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    headers.update(extra)
    return headers


def message_body(text: str = "Say hi", *, stream: bool = False, **directive: Any) -> dict[str, Any]:
    content = f"{text} {make_directive(**directive)}" if directive else text
    body: dict[str, Any] = {
        "model": "claude-haiku-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": content}],
    }
    if stream:
        body["stream"] = True
    return body


def post(
    base_url: str, body: Any, headers: dict[str, str] | None = None, path: str = "/v1/messages", **kwargs: Any
) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        return client.post(base_url + path, json=body, headers=headers or api_headers(), **kwargs)


def run_every_check(run_one: Callable[[str], Any], *, with_claude_code: bool = True) -> list[Any]:
    """Every registered check through ``run_one(check_id)`` in the stages a session runs them (``run._plan``):
    the clock-bound checks each on its own thread from the start, beside the stages that hold the rest (timing),
    whose checks run here one at a time; then the rest 16 at a time (beside the timing checks they would put the
    harness's own load into the timings). ``with_claude_code=False`` leaves out the checks that run node clients,
    Claude Code (most of the time) and the TypeScript SDK."""
    from concurrent.futures import ThreadPoolExecutor

    from conformance.checks import REGISTRY
    from conformance.core._vocab import Feature
    from conformance.run._plan import plan

    wanted = [c for c in REGISTRY if with_claude_code or not (Feature.CLAUDE_CODE in REGISTRY[c].features
                                                              or c.startswith("client.ts-sdk."))]
    stages = plan([(c, "fault-proxy") for c in wanted])
    clock_bound = [c for stage in stages if stage.how == "alone" for c, _ in stage.keys]
    timing = [c for stage in stages if stage.holds_the_rest for c, _ in stage.keys]
    rest = [c for c in wanted if c not in timing and c not in clock_bound]
    with ThreadPoolExecutor(max(1, len(clock_bound))) as clock, ThreadPoolExecutor(16) as pool:
        waiting = [clock.submit(run_one, c) for c in clock_bound]
        results = [run_one(c) for c in timing]
        results += list(pool.map(run_one, rest))
        results += [future.result() for future in waiting]
    return results
