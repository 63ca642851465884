"""Wall time of the full checklist against ``direct`` (target: ≤ 20 s on this 2-core machine).

Run: ``python benchmarks/checklist.py [--target direct]``. Prints the total and the slowest checks from results.json.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="direct")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as reports:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "conformance/checks",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--target={args.target}",
                "--report-dir",
                reports,
            ],
            cwd=ROOT,
            capture_output=True,
        )
        elapsed = time.perf_counter() - started
        (results,) = Path(reports).glob("run-*/results.json")
        document = json.loads(results.read_text())
    rows = document["results"]
    verdicts: dict[str, int] = {}
    for row in rows:
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    print(
        f"full checklist, target {args.target}: {len(rows)} checks in {elapsed:.1f} s wall "
        f"(pytest start-up included; target <= 20 s); verdicts {verdicts}"
    )
    for row in sorted(rows, key=lambda r: -r["duration_ms"])[:5]:
        print(f"  {row['duration_ms'] / 1000:6.2f} s  {row['check']}")


if __name__ == "__main__":
    main()
