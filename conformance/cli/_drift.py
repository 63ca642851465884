"""``python -m conformance drift``: the newest Claude Code, TypeScript SDK, Python SDK and LiteLLM against the pinned
ones. Each client release talks to a reference upstream of its own, and the journal says what the newest sends that
the pinned one did not; then the checklist runs on the same targets with each set and the verdicts are compared.
Exit 1 on a check that passes with the pinned releases and fails with the newest; a registry that cannot be reached,
or no newer release, is one line and exit 0."""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ..core._exceptions import PathError
from ..core._releases import ReleaseLookupError, newest_npm, newest_pypi
from ..core._settings import Settings, load_pins
from ..report._drift import ReleasePair, drift_markdown, new_failures
from ..results._diff import RunDiff, diff_runs
from ..run._drift import ClientProbe, observe, wire_changes

MODEL = "claude-haiku-4-5"
CHECKLIST_TIMEOUT_S = 900.0


def arguments(parser: argparse.ArgumentParser) -> None:
    pins = load_pins()
    parser.add_argument("--claude-code", help="the newer Claude Code (default: npm's latest)")
    parser.add_argument("--claude-code-baseline", default=pins.claude_code, help="default: the pin")
    parser.add_argument("--ts-sdk", help="the newer TypeScript SDK (default: npm's latest)")
    parser.add_argument("--ts-sdk-baseline", default=pins.ts_sdk, help="default: the pin")
    parser.add_argument("--python-sdk", help="the newer Python SDK (default: the package index's newest)")
    parser.add_argument("--python-sdk-baseline", default=_installed_anthropic(),
                        help="default: the release installed beside the harness")
    parser.add_argument("--litellm", help="the newer LiteLLM (default: the package index's newest)")
    parser.add_argument("--litellm-baseline", default=pins.litellm, help="default: the pin")
    parser.add_argument("--targets", default="direct,litellm", help="where the verdicts are compared")
    parser.add_argument("--no-verdicts", action="store_true", help="compare what the clients send only")
    parser.add_argument("--report-dir", type=Path, default=Path("reports/drift"))


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        pairs = [ReleasePair("Claude Code", args.claude_code_baseline,
                             args.claude_code or newest_npm("@anthropic-ai/claude-code")),
                 ReleasePair("TypeScript SDK", args.ts_sdk_baseline, args.ts_sdk or newest_npm("@anthropic-ai/sdk")),
                 ReleasePair("Python SDK", args.python_sdk_baseline, args.python_sdk or newest_pypi("anthropic")),
                 ReleasePair("LiteLLM", args.litellm_baseline, args.litellm or newest_pypi("litellm"),
                             wire_observed=False)]
    except ReleaseLookupError as exc:
        print(f"drift: nothing compared: {exc}")
        return 0
    moved = [p for p in pairs if p.differs]
    if not moved:
        print("drift: no newer release: " + ", ".join(f"{p.name} {p.pinned}" for p in pairs) + " are the newest")
        return 0
    print("drift: " + "; ".join(f"{p.name} {p.pinned} → {p.newest}" for p in moved))
    started = time.monotonic()
    for pair in moved:
        if pair.wire_observed:
            _observe_pair(pair, settings)
            print(f"  {pair.name}: {sum(c.added for c in pair.changes)} new on the wire, "
                  f"{sum(not c.added for c in pair.changes)} gone" + (f"; {pair.errors[0]}" if pair.errors else ""))
    verdicts = None if args.no_verdicts else _verdicts(args, pairs, settings)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "drift.md").write_text(
        drift_markdown(time.strftime("%Y-%m-%d", time.gmtime()), pairs, verdicts, args.targets))
    (args.report_dir / "drift.json").write_text(json.dumps({
        "pairs": [{"name": p.name, "pinned": p.pinned, "newest": p.newest, "errors": p.errors,
                   "changes": [{"kind": c.kind, "value": c.value, "added": c.added} for c in p.changes]}
                  for p in pairs],
        "new_failures": new_failures(verdicts)}, indent=1) + "\n")
    failures = new_failures(verdicts)
    print(f"drift: {len(failures)} new failure(s); {args.report_dir / 'drift.md'} "
          f"({time.monotonic() - started:.0f} s)")
    return 1 if failures else 0


def _observe_pair(pair: ReleasePair, settings: Settings) -> None:
    talk = {"Claude Code": _claude_code, "TypeScript SDK": _ts_sdk, "Python SDK": _python_sdk}[pair.name]
    probes = [ClientProbe(pair.name, v, talk(v, settings.cache_dir)) for v in (pair.pinned, pair.newest)]
    old, new = (observe(p) for p in probes)
    pair.changes = wire_changes(old, new)
    pair.requests = (old.requests, new.requests)
    pair.errors = [f"{p.version}: {e}" for p in probes for e in p.errors]


def _claude_code(version: str, cache_dir: Path) -> Callable[[str, str, str], None]:
    from ..clients._claude_code import ensure_claude_code, run_claude
    from ..paths import Connection
    from ..upstream import make_directive

    def talk(base_url: str, api_key: str, oauth_token: str) -> None:
        binary = ensure_claude_code(version, cache_dir)
        connection = Connection(base_url=base_url)
        # A plain turn, a turn with a tool call and one on a subscription token: the three shapes an agent sends.
        for env, prompt in (({"ANTHROPIC_API_KEY": api_key}, "Say hi"),
                            ({"ANTHROPIC_API_KEY": api_key}, f"Read the notes {make_directive(tool='Read')}"),
                            ({"CLAUDE_CODE_OAUTH_TOKEN": oauth_token}, "Say hi")):
            cid = f"drift{uuid.uuid4().hex[:8]}"
            text = prompt if "[[ec" in prompt else f"{prompt} {make_directive(cid=cid)}"
            run = run_claude(binary, connection, dict(env), text, ca_pem=None, slots=2)
            if run.returncode != 0:
                raise PathError(f"Claude Code {version} ended with code {run.returncode}: {run.stderr[-200:]}")

    return talk


def _ts_sdk(version: str, cache_dir: Path) -> Callable[[str, str, str], None]:
    from ..clients._ts_sdk import ensure_ts_sdk, run_ts_sdk
    from ..paths import Connection

    def talk(base_url: str, api_key: str, oauth_token: str) -> None:
        modules = ensure_ts_sdk(version, cache_dir)
        params = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "Hi"}]}
        answers = run_ts_sdk(modules, Connection(base_url=base_url), [("x-api-key", api_key)],
                             [{"op": "create", "params": params}, {"op": "stream", "params": params}])
        failed = [a for a in answers if not a.get("ok")]
        if failed:
            raise PathError(f"TypeScript SDK {version}: {failed[0].get('error')}")

    return talk


def _python_sdk(version: str, cache_dir: Path) -> Callable[[str, str, str], None]:
    from ..clients._python_sdk import ensure_python_sdk, run_python_sdk

    def talk(base_url: str, api_key: str, oauth_token: str) -> None:
        folder = None if version == _installed_anthropic() else ensure_python_sdk(version, cache_dir)
        lines = run_python_sdk(folder, base_url, api_key, MODEL, "Hi")
        failed = [line for line in lines if line.get("ok") is False]
        if failed:
            raise PathError(f"Python SDK {version}: {failed[0]['call']}: {failed[0]['error']}")

    return talk


def _verdicts(args: argparse.Namespace, pairs: list[ReleasePair], settings: Settings) -> RunDiff | None:
    """The checklist on ``--targets`` with the pinned releases, then the newest, and the verdict diff."""
    from ..clients._claude_code import ensure_claude_code
    from ..clients._python_sdk import ensure_python_sdk
    from ..clients._ts_sdk import ensure_ts_sdk
    from ..paths.litellm import ensure_release
    from ..run._stability import run_once

    by_name = {p.name: p for p in pairs}
    documents = []
    for side in ("pinned", "newest"):
        versions = {name: getattr(p, side) for name, p in by_name.items()}
        try:
            ensure_claude_code(versions["Claude Code"], settings.cache_dir)
            ensure_ts_sdk(versions["TypeScript SDK"], settings.cache_dir)
            ensure_release(versions["LiteLLM"], settings.cache_dir, say=print)
            env = {}
            if versions["Python SDK"] != _installed_anthropic():
                folder = ensure_python_sdk(versions["Python SDK"], settings.cache_dir)
                env["PYTHONPATH"] = os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        except PathError as exc:
            print(f"drift: the {side} releases cannot be installed: {exc}")
            return None
        print(f"  checklist with the {side} releases on {args.targets} …")
        _, document, _ = run_once([f"--target={args.targets}", f"--litellm-version={versions['LiteLLM']}",
                                   f"--claude-code-version={versions['Claude Code']}",
                                   f"--ts-sdk-version={versions['TypeScript SDK']}"],
                                  args.report_dir / side, timeout=CHECKLIST_TIMEOUT_S, env=env)
        if document is None:
            print(f"drift: the checklist with the {side} releases wrote no results")
            return None
        documents.append(document)
    return diff_runs(documents[0], documents[1])


def _installed_anthropic() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("anthropic")
    except PackageNotFoundError:
        return "none"
