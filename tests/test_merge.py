"""
Separate CI jobs (one per gateway family) joined into one report and one gate decision: ``python -m conformance
merge``, including a job that failed and one that is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from conformance.cli import main as cli
from conformance.results._document import load_schema, write_results
from conformance.results._merge import merge_documents

SPIKE = Path(__file__).resolve().parents[1] / "reports" / "spike-3" / "results.json"


def _split(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """The committed spike-3 run cut in two jobs by target, as two CI jobs would have written it."""
    document = json.loads(SPIKE.read_text())
    targets = [t["name"] for t in document["run"]["targets"]]
    halves = (targets[: len(targets) // 2], targets[len(targets) // 2:])
    paths = []
    for i, names in enumerate(halves):
        part = {**document, "run": {**document["run"], "id": f"job-{i}",
                                    "targets": [t for t in document["run"]["targets"] if t["name"] in names]},
                "results": [r for r in document["results"] if r["target"] in names]}
        paths.append(write_results(part, tmp_path / f"job-{i}"))
    return paths[0], paths[1], targets


def test_two_jobs_merge_into_the_whole_run(tmp_path):
    """
    The merged results have every target and result of the jobs, validate against the schema and are complete.
    """
    first, second, targets = _split(tmp_path)
    merged = merge_documents([first, second], targets)
    original = json.loads(SPIKE.read_text())
    assert [t["name"] for t in merged["run"]["targets"]] == targets
    assert len(merged["results"]) == len(original["results"])
    assert merged["run"]["complete"] is True and [j["run_id"] for j in merged["run"]["jobs"]] == ["job-0", "job-1"]
    jsonschema.validate(merged, load_schema())


def test_a_failed_or_missing_job_fails_the_gate(tmp_path, capsys):
    """
    A job whose results file is missing is named with its error; its targets are not run; the gate says fail.
    """
    first, _, targets = _split(tmp_path)
    code = cli(["merge", str(first), str(tmp_path / "job-9" / "results.json"), "--out", str(tmp_path / "merged"),
                "--targets", ",".join(targets)])
    said = capsys.readouterr().out
    assert code == 1
    assert "job-9" in said and '"gate": "fail"' in said and "not run:" in said
    merged = json.loads(next((tmp_path / "merged").glob("*/results.json")).read_text())
    assert merged["run"]["complete"] is False and merged["run"]["not_run"]
    assert (next((tmp_path / "merged").glob("*")) / "findings.md").exists()


def test_no_readable_job_is_one_line(tmp_path, capsys):
    """
    With nothing readable the merge stops with one line, exit 2.
    """
    (tmp_path / "bad.json").write_text("{not json")
    assert cli(["merge", str(tmp_path / "bad.json"), "--out", str(tmp_path / "merged")]) == 2
    assert capsys.readouterr().out.strip().startswith("error: no readable results")
