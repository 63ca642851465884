"""
Your own traffic as a case: ``--recordings DIR`` replays a user's cassettes through the path and compares each
exchange with its recording; a folder that is not cassettes is one clear line before anything starts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.core._fixtures import RECORDINGS_DIR
from conformance.core._verdict import Verdict
from conformance.upstream import ReferenceUpstream, UpstreamConfig

from ._harness import check_through, run_checklist
from .faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parents[1]
# String content with a 1h cache breakpoint (gzip JSON), and a block-content request with an assistant prefill
# (gzip SSE): the two request shapes a user's traffic is most likely to have.
MINE = {"mine_cache": "dd-trace__json_cache_write_1h_ttl_gzip_2026-03",
        "mine_prefill": "llm-anthropic__sse_prefill_stop_sequences_gzip_2026-04"}


@pytest.fixture(scope="module")
def users_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recordings")
    for mine, theirs in MINE.items():
        shutil.copy(RECORDINGS_DIR / f"{theirs}.yaml", folder / f"{mine}.yaml")
    return folder


@pytest.fixture(scope="module")
def users_upstream(users_dir: Path) -> Iterator[ReferenceUpstream]:
    with ReferenceUpstream(UpstreamConfig(recordings_dirs=(users_dir,))) as upstream:
        yield upstream


def _run(upstream: ReferenceUpstream, folder: Path, *faults: str):
    with FaultProxy(upstream.base_url, *faults) as proxy:
        return check_through(upstream, proxy.base_url, "replay.recorded-exchanges", recordings=folder)


def test_users_recordings_come_back_as_recorded(users_upstream, users_dir):
    """
    Through a transparent path every exchange of the user's cassettes comes back as recorded.
    """
    result = _run(users_upstream, users_dir)
    assert result.verdict is Verdict.PASS, result.message
    assert result.evidence["recorded_exchanges_sent"] == 2


def test_a_path_that_changes_them_is_named_per_exchange(users_upstream, users_dir):
    """
    A path that edits text fails, and the message names the user's exchange that differs.
    """
    result = _run(users_upstream, users_dir, "mutate-text")
    assert result.verdict is Verdict.FAIL
    assert "mine_prefill:0: body differs" in result.message


@pytest.mark.parametrize(("content", "said"), [
    ("interactions: 3\n", "no interactions"),
    ("interactions: [{request: {}}]\n", "interaction 0 has no request and response"),
    ("{{{", "recording"),
])
def test_a_folder_that_is_not_cassettes_is_one_line(tmp_path, content, said):
    """
    A malformed cassette stops the run at once with one line naming the file, before any target starts.
    """
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "broken.yaml").write_text(content)
    process, _ = run_checklist(tmp_path / "reports", "--target=direct", f"--recordings={folder}", timeout=60)
    assert process.returncode == 4, process.stdout + process.stderr
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and said in lines[0] and "broken.yaml" in lines[0], lines
    assert "Traceback" not in process.stdout + process.stderr
