"""
The whole local matrix, every target the harness starts itself, as a user runs it: a harness change that flips a
verdict against the expectations files fails here, and no credential reaches any of its outputs.
"""

from __future__ import annotations

import jsonschema
import pytest

from conformance.core._settings import load_pins
from conformance.results._document import load_schema

from ._harness import run_checklist

# Sentinels shaped like each credential class: the run must work with them and print only their class.
SENTINELS = {
    "EGRESS_CONFORMANCE_API_KEY": "sk-ant-api03-SENTINELapi0000000000000000000000000000000000000000000000",
    "EGRESS_CONFORMANCE_OAUTH_TOKEN": "sk-ant-oat01-SENTINELoat0000000000000000000000000000000000000000000000",
    "EGRESS_CONFORMANCE_LITELLM_MASTER_KEY": "sk-SENTINELmaster0000000000000",
}


# 18 targets, Claude Code through most: about 200 s alone on two cores. nox -s tests runs it by itself after the
# parallel tests (in their queue it would hold one worker to the end; beside them, the machine is overloaded).
@pytest.mark.matrix
@pytest.mark.timeout(600)
def test_the_whole_local_matrix_holds_its_expectations_and_shows_no_credential(tmp_path):
    """
    ``--target=all`` with sentinel credentials: every verdict is the one its expectations file names (the run exits
    0), results.json is valid against its schema, and no report or output line holds a sentinel, only its class.
    """
    process, document = run_checklist(tmp_path, "--target=all", f"--litellm-version={load_pins().litellm}",
                                      env=SENTINELS, timeout=560)
    tail = process.stdout[-3000:]
    assert process.returncode == 0, tail
    jsonschema.validate(document, load_schema())
    assert len({r["target"] for r in document["results"]}) >= 10, tail
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"results.json", "findings.md", "matrix.html", "junit.xml"}
    outputs = process.stdout + process.stderr + "".join(p.read_text() for p in files)
    assert "SENTINEL" not in outputs
    assert "sk-ant-oat01-…" in outputs and "sk-ant-api03-…" in outputs
