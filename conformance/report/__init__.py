"""Reports built from one results document: findings.md, matrix.html, junit.xml (all redacted already)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._redact import redact
from ._html import matrix_html
from ._junit import junit_xml
from ._markdown import findings_markdown


def write_reports(document: dict[str, Any], directory: Path, compared: list[dict[str, Any]]) -> list[Path]:
    """Write the three reports next to results.json from the document and its comparison with the expectations
    (``_expectations.compare``); every text passes through redaction once more."""
    outputs = {
        "findings.md": findings_markdown(document, compared),
        "matrix.html": matrix_html(document, compared),
        "junit.xml": junit_xml(document, compared).decode(),
    }
    paths = []
    for name, text in outputs.items():
        path = directory / name
        path.write_text(redact(text))
        paths.append(path)
    return paths


__all__ = ["write_reports"]
