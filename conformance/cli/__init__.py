"""``python -m conformance <command>``: one table of commands, each handled in a module of its own.

Entry layer: may import every layer. The checklist itself runs under pytest (``nox -s conformance`` or
``pytest conformance/checks --target=…``); these commands prepare, compare and publish runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import _bisect, _configs, _docs, _drift, _installs, _runs

if TYPE_CHECKING:
    from ..core._settings import Settings


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, its arguments, and what it does (an exit code)."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], int]


COMMANDS: dict[str, Command] = {
    "docs": Command("write docs/checks.md from the registry", _docs.arguments, _docs.run),
    "envoy-prod": Command("write the production Envoy configs to fixtures/envoy/prod/", _configs.no_arguments,
                          _configs.envoy_prod),
    "prod-configs": Command("write every production gateway config (fixtures/<family>/prod/)",
                            _configs.no_arguments, _configs.prod_configs),
    "litellm-install": Command("install LiteLLM releases into their cached virtualenvs", _installs.litellm_arguments,
                               _installs.litellm_install),
    "claude-code-install": Command("install a Claude Code release into the cache (npm)",
                                   _installs.client_arguments("claude_code"), _installs.claude_code_install),
    "ts-sdk-install": Command("install a TypeScript SDK release into the cache (npm)",
                              _installs.client_arguments("ts_sdk"), _installs.ts_sdk_install),
    "pins": Command("print the pinned releases (conformance/pins.toml) as JSON", _configs.no_arguments,
                    _configs.pins),
    "contract": Command("Claude Code's gateway contract: clauses, checks, uncovered ones", _docs.contract_arguments,
                        _docs.contract),
    "prepare": Command("install what each target needs before a run (LiteLLM releases, gateways)",
                       _installs.prepare_arguments, _installs.prepare),
    "diff": Command("compare two runs (results.json files or report directories)", _runs.diff_arguments,
                    _runs.diff),
    "gate": Command("the LiteLLM upgrade gate over a run holding both releases", _runs.gate_arguments, _runs.gate),
    "merge": Command("join the results of separate CI jobs (one per family) into one report and one gate decision "
                     "(exit 1 on a regression or a missing job)", _runs.merge_arguments, _runs.merge),
    "publish": Command("copy a run's reports to a stable directory (reports/spike-3), rendered again",
                       _runs.publish_arguments, _runs.publish),
    "bisect": Command("the first LiteLLM release where a check's verdict changed (installs only the releases it "
                      "needs)", _bisect.arguments, _bisect.run),
    "drift": Command("the newest Claude Code, TypeScript SDK, Python SDK and LiteLLM against the pinned ones: what "
                     "they send that the pinned did not, and the verdicts (exit 1 on a new failure)",
                     _drift.arguments, _drift.run),
    "stability": Command("run the checklist N times and report every verdict that changed (exit 1 on any flip); "
                         "other arguments go to pytest", _runs.stability_arguments, _runs.stability),
}
PASSES_REST = {"stability"}
"""Commands whose unknown arguments are passed on (to pytest)."""


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` against the command table and run the command; one ``error:`` line and exit 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        command.arguments(commands.add_parser(name, help=command.help))
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in PASSES_REST:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    from ..core._exceptions import InputError
    from ..core._settings import Settings

    try:
        settings = Settings.from_env()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command].run(args, settings)
