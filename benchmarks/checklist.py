"""Wall time of the checklist: ``direct`` alone (target ≤ 15 s) and the local matrix (target ≤ 90 s), on this machine.

Run: ``python benchmarks/checklist.py [--target direct] [--matrix] [--busy-core]``. Prints pytest's wall time, each
target's start-up, and the slowest checks against their bounds (no check may take more than half of its bound).
Needs the LiteLLM release and Claude Code installed first (``nox -s conformance`` does it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def local_matrix() -> str:
    """The local matrix of ``conformance/pins.toml``."""
    from conformance.core._settings import load_pins

    return ",".join(load_pins().local_matrix)


def measure(targets: str, extra: list[str]) -> None:
    with tempfile.TemporaryDirectory() as reports:
        started = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-m", "pytest", "conformance/checks", "-q", "-p", "no:cacheprovider",
             f"--target={targets}", "--report-dir", reports, *extra],
            cwd=ROOT, capture_output=True, text=True,
        )
        elapsed = time.perf_counter() - started
        found = list(Path(reports).glob("run-*/results.json"))
        if not found:
            print(process.stdout[-2000:], process.stderr[-2000:])
            raise SystemExit("no results.json written")
        document = json.loads(found[0].read_text())
    rows = document["results"]
    verdicts: dict[str, int] = {}
    for row in rows:
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    summary = process.stdout.strip().splitlines()[-1] if process.stdout.strip() else ""
    print(f"{len(document['run']['targets'])} target(s), {len(rows)} results in {elapsed:.1f} s wall "
          f"(pytest start-up included); verdicts {verdicts}; pytest: {summary}")
    for target in document["run"]["targets"]:
        print(f"  start-up {target.get('startup_s', 0):6.2f} s  {target['name']}")
    over = [r for r in rows if r["duration_ms"] > r.get("bound_s", 60) * 500]
    print(f"  checks over half their bound: {len(over)}")
    for row in sorted(rows, key=lambda r: -r["duration_ms"])[:8]:
        print(f"  {row['duration_ms'] / 1000:6.2f} s of {row.get('bound_s', 60):.0f}  {row['check']}@{row['target']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="direct")
    parser.add_argument("--matrix", action="store_true", help="the local matrix of conformance/pins.toml")
    parser.add_argument("--busy-core", action="store_true", help="keep one core at 100 %% meanwhile")
    args, extra = parser.parse_known_args()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy_core else None
    try:
        measure(local_matrix() if args.matrix else args.target, extra)
    finally:
        if busy is not None:
            busy.kill()


if __name__ == "__main__":
    main()
