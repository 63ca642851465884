"""Where the project's data files live (request bodies, recordings, schemas, path configs, expectations)."""

from __future__ import annotations

from pathlib import Path

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"
RECORDINGS_DIR = FIXTURES_DIR / "recordings"
SCHEMAS_DIR = FIXTURES_DIR / "schemas"

SPIKE_QUESTIONS = FIXTURES_DIR / "questions" / "spike-3.yaml"
"""The spike findings.md answers unless a run names another (``--questions``, ``EGRESS_CONFORMANCE_QUESTIONS``)."""
