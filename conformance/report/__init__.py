"""Reports built from one results document: findings.md (answering a spike's questions), matrix.html, junit.xml and,
when the run measured costs, the cost chart (all redacted already)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core._redact import redact
from ._html import matrix_html
from ._junit import junit_xml
from ._markdown import COST_CHART, findings_markdown
from ._performance import performance_svg
from ._spec import DEFAULT_QUESTIONS, Spike, load_spike


def write_reports(document: dict[str, Any], directory: Path, compared: list[dict[str, Any]],
                  spike: Spike | None = None) -> list[Path]:
    """Write the reports next to results.json from the document and its comparison with the expectations
    (``_expectations.compare``), answering ``spike`` (default: spike #3); every text passes through redaction
    once more."""
    chart = performance_svg(document.get("performance") or {})
    outputs = {
        "findings.md": findings_markdown(document, compared, spike, cost_chart=bool(chart)),
        "matrix.html": matrix_html(document, compared),
        "junit.xml": junit_xml(document, compared).decode(),
    }
    if chart:
        outputs[COST_CHART] = chart
    paths = []
    for name, text in outputs.items():
        path = directory / name
        path.write_text(redact(text))
        paths.append(path)
    return paths


__all__ = ["DEFAULT_QUESTIONS", "Spike", "load_spike", "write_reports"]
