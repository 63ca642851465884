"""
The drift watch: what a newer client release sends that the pinned one did not, read from the upstream's journal;
one line when there is nothing to compare.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from conformance.report._drift import ReleasePair, drift_markdown
from conformance.results._diff import RunDiff
from conformance.run._drift import ClientProbe, observe, wire_changes

ROOT = Path(__file__).resolve().parents[1]


def _client(betas: str, extra_field: bool):
    """A stand-in client release: a message with ``betas``, and with a body field its newer release added."""

    def talk(base_url: str, api_key: str, oauth_token: str) -> None:
        body = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}
        if extra_field:
            body["context_management"] = {"edits": []}
        headers = {"x-api-key": api_key, "anthropic-version": "2023-06-01", "anthropic-beta": betas}
        assert httpx.post(base_url + "/v1/messages", json=body, headers=headers).status_code == 200

    return talk


def test_a_newer_client_that_sends_an_extra_beta_and_field_is_reported():
    """
    The pinned stand-in sends one beta; the "new" one sends a second beta and a body field: the drift names both,
    and nothing else (the same endpoint, headers and version).
    """
    old = observe(ClientProbe("stand-in", "1.0.0", _client("fine-grained-tool-streaming-2025-05-14", False)))
    new = observe(ClientProbe("stand-in", "1.1.0", _client(
        "fine-grained-tool-streaming-2025-05-14,context-management-2025-06-27", True)))
    assert old.requests == new.requests == 1
    lines = [c.line() for c in wire_changes(old, new)]
    assert lines == ["sends beta `context-management-2025-06-27`", "sends body field `context_management`",
                     "sends body field `context_management.edits`"]
    assert wire_changes(new, old)[0].line() == "no longer sends beta `context-management-2025-06-27`"


def test_a_client_that_cannot_run_is_said_beside_what_it_sent():
    """A release whose run fails is reported with its cause, not as "sends nothing new"."""

    def broken(base_url: str, api_key: str, oauth_token: str) -> None:
        raise RuntimeError("exited with code 1")

    probe = ClientProbe("stand-in", "2.0.0", broken)
    assert observe(probe).requests == 0
    assert probe.errors == ["RuntimeError: exited with code 1"]


def test_the_report_answers_first_and_lists_the_changes():
    """drift.md starts with the answer, then a row per release, then what the newest sends that the pinned did not."""
    old = observe(ClientProbe("stand-in", "1.0.0", _client("a-2025-01-01", False)))
    new = observe(ClientProbe("stand-in", "1.1.0", _client("a-2025-01-01,b-2026-01-01", False)))
    pairs = [ReleasePair("Claude Code", "2.1.332", "2.1.333", wire_changes(old, new), (1, 1)),
             ReleasePair("LiteLLM", "1.108.7", "1.108.7", wire_observed=False)]
    regressed = RunDiff(regressed=[{"check": "sse.not-buffered", "target": "litellm", "before": "pass",
                                    "after": "fail", "message": "held 2 s"}])
    text = drift_markdown("2026-12-07", pairs, regressed, "direct,litellm")
    lines = text.splitlines()
    assert lines[2].startswith("**New failure**: 1 check(s)")
    assert "| Claude Code | 2.1.332 | 2.1.333 | 1 / 0 |" in text
    assert "| LiteLLM | 1.108.7 | 1.108.7 | same release |" in text
    assert "## What Claude Code 2.1.333 sends that 2.1.332 did not" in text
    assert "- sends beta `b-2026-01-01`" in text and "`sse.not-buffered` on `litellm`: pass → fail" in text
    quiet = drift_markdown("2026-12-07", pairs, RunDiff(), "direct")
    assert quiet.splitlines()[2].startswith("**No new failure** on direct; 1 change(s) on the wire")
    same_wire = [ReleasePair("Claude Code", "2.1.332", "2.1.337", [], (4, 4))]
    assert drift_markdown("2026-12-07", same_wire, RunDiff(), "direct").splitlines()[2] == \
        "**No new failure** on direct; nothing new on the wire."
    wire_only = drift_markdown("2026-12-07", pairs, None, "direct")
    assert wire_only.splitlines()[2].startswith("**Verdicts not compared**")


def _drift(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_NO_INDEX": ""}
    return subprocess.run([sys.executable, "-m", "conformance", "drift", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)


def test_offline_or_nothing_newer_is_one_line_and_exit_0(tmp_path):
    """
    No registry (no npm on PATH, a package index that does not answer) is one line naming the cause; every release
    given as the pinned one is one line saying so. Neither is a failure of the path.
    """
    offline = _drift("--report-dir", str(tmp_path), path=str(tmp_path))
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.strip().splitlines() == [
        "drift: nothing compared: npm is not installed: no release list for @anthropic-ai/claude-code"]
    same = _drift("--claude-code=2.1.332", "--claude-code-baseline=2.1.332", "--ts-sdk=1.15.0",
                  "--ts-sdk-baseline=1.15.0", "--python-sdk=2.17.0", "--python-sdk-baseline=2.17.0",
                  "--litellm=1.108.7", "--litellm-baseline=1.108.7", path=str(tmp_path))
    assert same.returncode == 0, same.stderr
    assert len(same.stdout.strip().splitlines()) == 1 and same.stdout.startswith("drift: no newer release")
    assert "Traceback" not in offline.stderr + same.stderr
