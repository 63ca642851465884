"""Sessions: ``conformance`` (the main job), ``tests`` (the harness's own tests) and ``lint``. ``nox -l`` lists them."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

# The pinned releases and the local matrix are package data (conformance/pins.toml), read here and by the harness.
PINS = tomllib.loads(Path(__file__).with_name("conformance").joinpath("pins.toml").read_text())
LOCAL_MATRIX = ",".join(PINS["local_matrix"])
LITELLM_VERSION = PINS["litellm"]
CLAUDE_CODE_VERSION = PINS["claude_code"]
TS_SDK_VERSION = PINS["ts_sdk"]
LITELLM_TEST_RELEASES = tuple(PINS["litellm_test_releases"])


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


def _install_claude_code(session: nox.Session, version: str | None, ts_sdk: str | None = None) -> None:
    """Claude Code and the TypeScript SDK from npm into the cache before the run (without node/npm their checks
    are unsupported)."""
    session.run("python", "-m", "conformance", "claude-code-install", version or CLAUDE_CODE_VERSION,
                success_codes=[0, 2])
    session.run("python", "-m", "conformance", "ts-sdk-install", ts_sdk or TS_SDK_VERSION, success_codes=[0, 2])


def _prepared(session: nox.Session, args: list[str]) -> list[str]:
    """Install what the run needs before pytest starts (SDK, LiteLLM release, Claude Code); the pytest arguments."""
    session.install("-e", ".[envoy]")
    sdk = _option(args, "--anthropic-sdk-version")
    if sdk:  # the SDK the client.sdk.* checks run; recorded in results.json as anthropic_sdk_version
        session.install(f"anthropic=={sdk}")
        args = [a for a in args if not a.startswith("--anthropic-sdk-version")]
    if not any(a.startswith("--target") for a in args):
        args.append(f"--target={LOCAL_MATRIX}")
    targets = ",".join(a.split("=", 1)[1] for a in args if a.startswith("--target="))
    if not _option(args, "--base-url"):
        # Each target's family installs what it needs (a LiteLLM release into its own cached virtualenv).
        version = _option(args, "--litellm-version")
        session.run("python", "-m", "conformance", "prepare", f"--target={targets}",
                    *([f"--litellm-version={version}"] if version else []))
    _install_claude_code(session, _option(args, "--claude-code-version"), _option(args, "--ts-sdk-version"))
    return args


@nox.session
def conformance(session: nox.Session) -> None:
    """The checklist against the local matrix (or -- --target=… / --base-url=…); writes reports/<run-id>/."""
    args = _prepared(session, list(session.posargs))
    session.run("pytest", "conformance/checks", "-p", "no:cacheprovider", *args)


@nox.session
def stability(session: nox.Session) -> None:
    """The local matrix N times (-- --runs N, --busy-core to keep one core at 100 %); prints every verdict that
    changed between runs with its durations and exits non-zero on any flip."""
    args = list(session.posargs)
    runs = _option(args, "--runs") or "3"
    args = [a for i, a in enumerate(args) if not (a.startswith("--runs") or (i and args[i - 1] == "--runs"))]
    busy = ["--busy-core"] if "--busy-core" in args else []
    args = _prepared(session, [a for a in args if a != "--busy-core"])
    session.run("python", "-m", "conformance", "stability", "--runs", runs, *busy, *args)


@nox.session
def perf(session: nox.Session) -> None:
    """What each target costs against direct (-- --target=…; default the local matrix): one quick check per target
    so the run starts them, then the --perf measurements into results.json, findings.md and matrix.html."""
    args = _prepared(session, list(session.posargs))
    session.run("pytest", "conformance/checks", "-p", "no:cacheprovider", "-q", "--perf", "-k",
                "request.metadata-kept", "--report-dir=reports/perf", *args)


@nox.session
def gate(session: nox.Session) -> None:
    """The LiteLLM upgrade gate: -- --litellm-version=NEW [--baseline=OLD] [--perf] runs the checklist on the
    release the team runs now (OLD; default the harness's pin) and on NEW against the same upstream, prints and
    writes the diff, and fails on a regression or an unexpected pass (with --perf also on overhead that grew more
    than 1.5x)."""
    session.install("-e", ".[envoy]")
    new = _option(list(session.posargs), "--litellm-version")
    old = _option(list(session.posargs), "--baseline") or LITELLM_VERSION
    if not new:
        session.error("usage: nox -s gate -- --litellm-version=NEW [--baseline=OLD]")
    if new == old:
        session.error(f"--litellm-version and --baseline are both {new}: nothing to compare")
    session.run("python", "-m", "conformance", "litellm-install", old, new)
    _install_claude_code(session, None)
    targets = ",".join(f"{route}[version={v}]" for v in (old, new) for route in ("litellm", "litellm-unified"))
    report_dir = "reports/gate"
    perf = ["--perf"] if "--perf" in session.posargs else []  # overhead compared too (about 2 minutes more)
    session.run("pytest", "conformance/checks", "-p", "no:cacheprovider", "-q", f"--target={targets}",
                f"--report-dir={report_dir}", *perf, success_codes=[0, 1])
    session.run("python", "-m", "conformance", "gate", report_dir, "--baseline", old, "--candidate", new)


@nox.session
def drift(session: nox.Session) -> None:
    """The drift watch: the newest Claude Code, TypeScript SDK, Python SDK and LiteLLM against the pinned ones, on
    the wire and in the verdicts (reports/drift/drift.md); exit 1 on a new failure. -- --claude-code=V and the like
    pick a release, --claude-code-baseline=V another baseline; offline or nothing newer, one line."""
    session.install("-e", ".")
    session.run("python", "-m", "conformance", "drift", *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """Regenerate the committed spike #3 findings (reports/spike-3/) from a run of every target (--target=all), with
    what each path costs (--perf: the options table's added latency and cost.svg)."""
    session.install("-e", ".[envoy]")
    session.run("python", "-m", "conformance", "litellm-install", LITELLM_VERSION)
    session.run("python", "-m", "conformance", "prepare", f"--target={','.join(PINS['gateways'])}")
    _install_claude_code(session, None)
    session.run("pytest", "conformance/checks", "-p", "no:cacheprovider", "-q", "--target=all", "--perf",
                f"--litellm-version={LITELLM_VERSION}", "--report-dir=reports/spike-3-run", success_codes=[0, 1])
    session.run("python", "-m", "conformance", "publish", "reports/spike-3-run", "reports/spike-3")


@nox.session
def tests(session: nox.Session) -> None:
    """The harness's own tests: the reference upstream's fidelity, every check failing against a broken path."""
    session.install("-e", ".[test,envoy]")
    # Everything the tests run is installed first, side by side (about 4 minutes one after another on an empty
    # cache): the LiteLLM releases, the gateways (apt-get as root; without root their targets and tests say
    # unsupported/skip), Claude Code and the TypeScript SDK. An install inside a test's time bound fails a fresh
    # machine.
    releases = [f"litellm[version={v}]" for v in (LITELLM_VERSION, *LITELLM_TEST_RELEASES)]
    session.run("python", "-m", "conformance", "prepare", f"--target={','.join([*releases, *PINS['gateways']])}",
                "--clients")
    # One worker more than the cores: the tests wait on subprocesses, streams and clocks about half of their time
    # (2 workers kept 2 cores 55 % busy). On 2 cores: 2 workers 299 s, 3 workers 242 s, 4 workers 278 s; work
    # stealing evens out the last minute (3 workers: 226 s). Then the whole local matrix (tests/test_matrix.py,
    # about 220 s, itself 16 checks at a time) and what measures time to a few milliseconds, each alone. Beside
    # the workers the matrix took 280 s, the workers 510 s, and a Claude Code comparison through a benign path
    # failed: the matrix's client checks keep both cores busy on their own.
    session.run("pytest", "tests", "-n", str((os.cpu_count() or 1) + 1), "--dist", "worksteal", "-m",
                "not alone and not matrix", *session.posargs)
    session.run("pytest", "tests", "-m", "matrix", *session.posargs)
    session.run("pytest", "tests", "-m", "alone", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests and benchmarks."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "conformance", "tests", "benchmarks", "noxfile.py")
