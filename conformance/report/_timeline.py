"""The release ranges of LiteLLM findings, as ``python -m conformance bisect --record`` kept them
(``fixtures/litellm/timeline.yaml``): a reader of a failure learns from which release it is fixed, or broken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..core._fixtures import FIXTURES_DIR

TIMELINE = FIXTURES_DIR / "litellm" / "timeline.yaml"


def load_timeline(path: Path = TIMELINE) -> list[dict[str, Any]]:
    """Every recorded change, or none when there is no file (or it cannot be read: the report goes on)."""
    try:
        data = yaml.safe_load(path.read_text()) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return []
    return [e for e in (data or {}).get("changes", []) if isinstance(e, dict) and "check" in e]


def timeline_lines(compared: list[dict[str, Any]], path: Path = TIMELINE) -> list[str]:
    """A table row per recorded change of a check this run graded on a LiteLLM target; none when there is none."""
    graded = {(r["check"], r["target"].split("[", 1)[0]) for r in compared if r["target"].startswith("litellm")}
    rows = [e for e in load_timeline(path) if (e["check"], str(e.get("target", "")).split("[", 1)[0]) in graded]
    if not rows:
        return []
    lines = ["| check | target | verdict | last with the old | first with the new |",
             "|---|---|---|---|---|"]
    for e in rows:
        skipped = e.get("not_observable") or []
        first = str(e["first_changed"])
        if skipped:
            unseen = skipped[0] if len(skipped) == 1 else f"{skipped[0]} … {skipped[-1]}, {len(skipped)} releases"
            first += f" (or an earlier one, not observable: {unseen})"
        lines.append(f"| `{e['check']}` | `{e['target']}` | {e['from']} → {e['to']} | {e['last_same']} | {first} |")
    return [*lines, "", f"Found by `python -m conformance bisect`: `{TIMELINE.relative_to(FIXTURES_DIR.parent)}`."]
