"""``prepare`` (what each target needs before a run), ``litellm-install``, ``claude-code-install``,
``ts-sdk-install``: everything installed into the cache before pytest starts, never inside a timed check."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..core._exceptions import PathError
from ..core._settings import Settings


def install_client(name: str, version: str | None, settings: Settings) -> int:
    """Install node client ``name`` (``claude-code``, ``ts-sdk``) at ``version`` (default: its pin) into the cache;
    0, or 2 with one warning line (its checks are then ``unsupported`` with the reason)."""
    from ..clients._claude_code import ensure_claude_code
    from ..clients._ts_sdk import ensure_ts_sdk

    try:
        if name == "claude-code":
            print(ensure_claude_code(version or settings.claude_code_version, settings.cache_dir))
        else:
            print(ensure_ts_sdk(version or settings.ts_sdk_version, settings.cache_dir))
    except PathError as exc:
        print(f"warning: {exc}; client.{name}.* will be unsupported", file=sys.stderr)
        return 2
    return 0


def client_arguments(pin: str) -> Callable[[argparse.ArgumentParser], None]:
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("version", nargs="?", help=f"default: {pin} in conformance/pins.toml")

    return add


def claude_code_install(args: argparse.Namespace, settings: Settings) -> int:
    return install_client("claude-code", args.version, settings)


def ts_sdk_install(args: argparse.Namespace, settings: Settings) -> int:
    return install_client("ts-sdk", args.version, settings)


def litellm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("versions", nargs="+")


def litellm_install(args: argparse.Namespace, settings: Settings) -> int:
    from ..paths.litellm import ensure_release

    def install(version: str) -> str | None:
        try:
            print(ensure_release(version, settings.cache_dir, say=print))
        except PathError as exc:
            return str(exc)
        return None

    # Side by side: each release is its own virtualenv, and the installs wait mostly on downloads and disk.
    return _report(_side_by_side([lambda v=v: install(v) for v in args.versions]))


def prepare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", action="append", required=True)
    parser.add_argument("--litellm-version", default=None)
    parser.add_argument("--clients", action="store_true", help="also install the pinned Claude Code and TypeScript "
                        "SDK (npm)")


def prepare(args: argparse.Namespace, settings: Settings) -> int:
    from ..paths import prepare_target, split_targets

    def one(word: str) -> str | None:
        try:
            prepare_target(word, settings.replace(litellm_version=args.litellm_version))
        except PathError as exc:
            return str(exc)
        return None

    def client(name: str) -> str | None:
        install_client(name, None, settings)  # a client that cannot be installed only warns
        return None

    # Side by side: each waits on downloads and disk, not on the others (apt-get takes its own lock).
    jobs = [lambda w=w: one(w) for w in split_targets(args.target)]
    jobs += [lambda c=c: client(c) for c in (["claude-code", "ts-sdk"] if args.clients else [])]
    return _report(_side_by_side(jobs))


def _side_by_side(jobs: list[Callable[[], str | None]]) -> list[str]:
    with ThreadPoolExecutor(max(1, len(jobs))) as pool:
        return [f for f in pool.map(lambda job: job(), jobs) if f]


def _report(failures: list[str]) -> int:
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 2 if failures else 0
