"""The pytest plugin of the checklist: options, markers, the checklist session, results.json and the reports.

``conformance/checks/conftest.py`` loads it, so only a run of the checklist (``pytest conformance/checks --target=…``,
``nox -s conformance``) has these options; installing the package adds nothing to other pytest runs. Each check ×
target is one test item (``test_check[sse.bytes-identical@direct]``). Heavy modules are imported when first needed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .core._exceptions import InputError
from .core._redact import redact
from .core._settings import Settings
from .core._verdict import Verdict
from .core._vocab import UpstreamMode
from .results._expectations import Expectation, Status, classify

if TYPE_CHECKING:
    from .run._session import ChecklistSession, SessionOptions

_SESSION_KEY = pytest.StashKey["ChecklistSession"]()
_SETTINGS_KEY = pytest.StashKey[Settings]()
_SELECTED_KEY = pytest.StashKey[list]()  # type: ignore[type-arg]
_SUMMARY_KEY = pytest.StashKey[list]()  # type: ignore[type-arg]
# The most one target's --perf measurement takes (about 10-25 s here; LiteLLM at 500 concurrent the longest).
PERF_SECONDS_PER_TARGET = 120
# pytest-timeout's bound for one checklist item (pyproject.toml), to which set-up and teardown work is added.
_ITEM_TIMEOUT_S = 120

__all__ = [
    "checklist",
    "outcome",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_terminal_summary",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("egress-conformance", "egress-path conformance checklist")
    group.addoption(
        "--target",
        action="append",
        default=[],
        help="target(s) to check, e.g. direct,envoy "
        "(repeatable, comma-separated; NAME[key=value,...] for options). Default: direct",
    )
    group.addoption("--base-url", default=None, help="check a path that is already deployed at this URL")
    group.addoption(
        "--auth",
        action="append",
        default=[],
        metavar="'HEADER: VALUE'",
        help="header that authenticates the client to the deployed path itself (repeatable; visible in ps: prefer "
        "--auth-file or EGRESS_CONFORMANCE_AUTH for a real key)",
    )
    group.addoption("--auth-file", default=None, metavar="FILE",
                    help="headers that authenticate the client to the deployed path, one 'HEADER: VALUE' per line")
    group.addoption("--model", default=None, help="model name the checks send")
    group.addoption(
        "--upstream",
        default=UpstreamMode.REFERENCE.value,
        choices=[m.value for m in UpstreamMode],
        help="what sits behind the path (live = the real api.anthropic.com behind a deployed path)",
    )
    group.addoption(
        "--upstream-encoding",
        default="gzip",
        choices=["gzip", "identity"],
        help="what the embedded reference upstream does for clients that accept gzip: compress successful answers "
        "as the 2026 API does (default), or never",
    )
    group.addoption(
        "--upstream-url",
        default=None,
        help="a reference upstream you started yourself (python -m "
        "conformance.upstream) behind your gateway; its journal is read over HTTP",
    )
    group.addoption("--check", action="append", default=[], metavar="ID[,ID…]",
                    help="run only these checks (ids as in docs/checks.md; repeatable)")
    group.addoption("--without", action="append", default=[], help="features the path lacks (e.g. count_tokens)")
    group.addoption("--litellm-version", default=None, help="LiteLLM release for litellm* targets (default: the "
                    "pinned release in conformance/pins.toml); installed into its own cached virtualenv on first use")
    group.addoption("--claude-code-version", default=None, help="Claude Code release for client.claude-code.* "
                    "(default: the pin in conformance/pins.toml); installed from npm on first use")
    group.addoption("--ts-sdk-version", default=None, help="@anthropic-ai/sdk release for client.ts-sdk.* (default: "
                    "the pin in conformance/pins.toml); installed from npm on first use")
    group.addoption("--check-timeout", type=float, default=60.0, help="seconds one check may take (checks that "
                    "run a client several times declare a longer bound of their own)")
    group.addoption("--update-expectations", action="store_true",
                    help="rewrite fixtures/expectations/<target>.yaml to match this run (reasons kept)")
    group.addoption("--perf", action="store_true",
                    help="after the checks, measure what each target costs against direct (added latency, time to "
                    "first token, per-event gap, concurrency, memory) into results.json")
    group.addoption("--report-dir", default="reports", help="where reports/<run-id>/results.json is written")
    group.addoption("--questions", default=None, metavar="FILE",
                    help="the spike findings.md answers: its questions (each with the checks and targets that answer "
                         "it) and the options to decide between (default: fixtures/questions/spike-3.yaml)")
    group.addoption("--recordings", default=None, metavar="DIR",
                    help="your own vcrpy cassettes of API traffic: replay.recorded-exchanges sends each recorded "
                         "request through the path and compares what comes back with the recording, byte for byte "
                         "(default: the project's recordings)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_check(id): a checklist item (set by the egress-conformance plugin)")
    from .core import _reaper

    _reaper.install()  # here, on the main thread: the first child may start from a target's start-up thread
    try:
        config.stash[_SETTINGS_KEY] = Settings.from_env(
            litellm_version=config.getoption("litellm_version"),
            claude_code_version=config.getoption("claude_code_version"),
            ts_sdk_version=config.getoption("ts_sdk_version"),
            questions_file=Path(config.getoption("questions")) if config.getoption("questions") else None)
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None
    problem = input_problem(config)
    if problem:
        raise pytest.UsageError(problem)


def _checks(config: pytest.Config) -> list[str]:
    return [c for value in config.getoption("check") for c in value.split(",") if c]


def _without(config: pytest.Config) -> list[str]:
    return [w for value in config.getoption("without") for w in value.split(",") if w]


def input_problem(config: pytest.Config) -> str | None:
    """One line naming what is wrong with the run's inputs (report directory, expectations files), or None.

    Checked before anything starts: a run of minutes must not end in a traceback about a file it could have read
    first."""
    from .paths import split_targets
    from .results._expectations import load as load_expectations

    if config.getoption("upstream") == UpstreamMode.LIVE and config.getoption("upstream_url"):
        return ("--upstream=live is the real api.anthropic.com; --upstream-url names a reference upstream: "
                "give one or the other")
    from .checks import REGISTRY
    from .core._settings import auth_headers
    from .core._vocab import features

    unknown = [c for c in _checks(config) if c not in REGISTRY]
    if unknown:
        return f"--check: unknown check id(s) {', '.join(unknown)} (python -m conformance docs lists them)"
    try:
        features(_without(config))
    except ValueError as exc:
        return f"--without: {exc}"
    try:
        auth_headers("\n".join(config.getoption("auth")), "--auth")
        if config.getoption("auth_file"):
            auth_headers(Path(config.getoption("auth_file")).read_text(), config.getoption("auth_file"))
    except OSError as exc:
        return f"--auth-file {config.getoption('auth_file')}: {exc.strerror or exc}"
    except InputError as exc:
        return str(exc)
    if config.getoption("recordings"):
        from .core._cassettes import CassetteError, load_directory

        if config.getoption("upstream_url") or config.getoption("upstream") == UpstreamMode.LIVE:
            return "--recordings needs the harness's own reference upstream (no --upstream-url, not live)"
        try:
            load_directory(Path(config.getoption("recordings")))
        except CassetteError as exc:
            return str(exc)
    from .report import load_spike

    try:
        load_spike(config.stash[_SETTINGS_KEY].questions_file, set(REGISTRY))
    except InputError as exc:
        return str(exc)
    directory = Path(config.getoption("report_dir"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        return f"report directory {directory} is not writable: {exc.strerror or exc}"
    for word in split_targets(config.getoption("target")) or ["direct"]:
        try:
            load_expectations(word, config.stash[_SETTINGS_KEY].expectations_dir)
        except ValueError as exc:
            return str(exc)
    return None


def _options(config: pytest.Config) -> SessionOptions:
    from .core._redact import register_secret
    from .core._settings import auth_headers
    from .core._vocab import features
    from .paths import split_targets
    from .run._session import SessionOptions

    settings = config.stash[_SETTINGS_KEY]
    headers = list(auth_headers("\n".join(config.getoption("auth")), "--auth"))
    if config.getoption("auth_file"):
        headers += auth_headers(Path(config.getoption("auth_file")).read_text(), config.getoption("auth_file"))
    headers += settings.proxy_auth
    for _, value in headers:  # a gateway key may look like anything: redacted by value
        register_secret(value.split(" ", 1)[-1])
    options = SessionOptions(
        targets=split_targets(config.getoption("target")) or ["direct"],
        base_url=config.getoption("base_url"),
        proxy_headers=headers,
        upstream=config.getoption("upstream"),
        upstream_url=config.getoption("upstream_url"),
        upstream_gzip=config.getoption("upstream_encoding") == "gzip",
        without=features(_without(config)),
        check_timeout=config.getoption("check_timeout"),
        settings=config.stash[_SETTINGS_KEY],
        recordings=Path(config.getoption("recordings")).resolve() if config.getoption("recordings") else None,
    )
    if config.getoption("model"):
        options.model = config.getoption("model")
    return options


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from .checks import REGISTRY
    from .paths import split_targets

    if {"check_id", "target"} <= set(metafunc.fixturenames):
        targets = split_targets(metafunc.config.getoption("target")) or ["direct"]
        wanted = set(_checks(metafunc.config)) or set(REGISTRY)
        pairs = [(c, t) for c in REGISTRY if c in wanted for t in targets]
        metafunc.parametrize(("check_id", "target"), pairs, ids=[f"{c}@{t}" for c, t in pairs])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Checks other than quick ones (already running in the background) are collected last, so quick ones overlap
    with them."""
    from .checks import REGISTRY, Phase

    def slow(item: pytest.Item) -> bool:
        callspec = getattr(item, "callspec", None)
        if callspec is None or not {"check_id", "target"} <= set(callspec.params):
            return False  # not a checklist item: its place is the test author's
        check_id = callspec.params["check_id"]
        return bool(check_id in REGISTRY and REGISTRY[check_id].phase is not Phase.QUICK)

    items.sort(key=slow)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember which check × target pairs will run, in the order they will be asked for, so only their slow
    checks start ahead and in that order."""
    selected: list[tuple[str, str]] = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and {"check_id", "target"} <= set(callspec.params):
            item.add_marker(pytest.mark.conformance_check(callspec.params["check_id"]))
            selected.append((callspec.params["check_id"], callspec.params["target"]))
    session.config.stash[_SELECTED_KEY] = selected
    checklist_items = [item for item in session.items if "checklist" in getattr(item, "fixturenames", ())]
    if not checklist_items:
        return
    # The first checklist item sets the session up (targets, then every timing check alone) and the last one
    # tears it down (with --perf, measuring every target): their safety-net time bounds must fit that work, which
    # grows with the matrix (a 120 s bound cut the 19-target set-up on a slower CI machine). Every item may also
    # wait for its own check to its longest (its bound, stretched by shared queues): checks run in the background
    # in the order items ask for them, so by the time an item asks, its check has started.
    from .checks import REGISTRY
    from .run._engine import QUEUE_STRETCH
    from .run._plan import start_bound

    check_timeout = session.config.getoption("check_timeout")
    extra = {id(checklist_items[0]): start_bound(selected, check_timeout)}
    if session.config.getoption("perf", False):
        from .paths import split_targets

        targets = split_targets(session.config.getoption("target")) or ["direct"]
        last = id(checklist_items[-1])
        extra[last] = extra.get(last, 0.0) + PERF_SECONDS_PER_TARGET * len(targets)
    for item in checklist_items:
        callspec = getattr(item, "callspec", None)
        check = REGISTRY.get(callspec.params.get("check_id", "")) if callspec is not None else None
        own = (check.bound_s or check_timeout) * QUEUE_STRETCH if check is not None else 0.0
        item.add_marker(pytest.mark.timeout(_ITEM_TIMEOUT_S + own + extra.get(id(item), 0.0)))


@pytest.fixture(scope="session")
def checklist(request: pytest.FixtureRequest) -> Iterator[ChecklistSession]:
    """The started checklist session (upstream and targets); stopped at the end of the run, whatever happens."""
    from .run._session import ChecklistSession
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None:
            reporter.write_line(redact(line))

    session = ChecklistSession(_options(request.config), say=say)
    request.config.stash[_SESSION_KEY] = session
    try:
        session.start(request.config.stash.get(_SELECTED_KEY, None))
        yield session
        if request.config.getoption("perf"):
            from .results._expectations import cost_breaches

            session.measure_performance()
            breaches = cost_breaches({"performance": session.performance},
                                     request.config.stash[_SETTINGS_KEY].expectations_dir)
            for line in breaches:
                say(f"cost regression: {line}")
            if breaches:  # the run fails as a failed check would (pytest exits 1)
                request.session.testsfailed += 1
    finally:
        session.stop()


@pytest.hookimpl(trylast=True)  # after pytest's own, which tears the session down (an interrupted run's targets)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write results.json and the reports once every check has finished and the targets have stopped (as
    pytest-html writes its report); the terminal summary only says what was written."""
    config = session.config
    checklist = config.stash.get(_SESSION_KEY, None)
    if checklist is not None:
        config.stash[_SUMMARY_KEY] = _write_run(checklist, config, exitstatus == pytest.ExitCode.INTERRUPTED)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    lines = config.stash.get(_SUMMARY_KEY, None)
    if lines:
        terminalreporter.section("egress conformance")
        for line in lines:
            terminalreporter.write_line(line)


def _write_run(session: ChecklistSession, config: pytest.Config, interrupted: bool) -> list[str]:
    from .report._run import write_run

    settings = config.stash[_SETTINGS_KEY]
    return write_run(session, Path(config.getoption("report_dir")), settings, interrupted=interrupted,
                     update_expectations_files=config.getoption("update_expectations"))


def outcome(result_verdict: Verdict, message: str, expected: Expectation | None = None) -> None:
    """Turn a verdict into the pytest outcome against the expectations: a listed failure is xfail, an unlisted
    fail/error/pass-nonstrict fails the item, a listed failure that passed fails it too (strict), unsupported skips."""
    if result_verdict is Verdict.UNSUPPORTED:  # nothing was judged: a listed failure is neither confirmed nor gone
        pytest.skip(f"unsupported: {message}")
    status = classify(result_verdict.value, expected)
    if status is Status.EXPECTED:
        assert expected is not None
        pytest.xfail(f"expected {result_verdict.value}: {expected.reason}")
    if status is Status.UNEXPECTED_PASS:
        assert expected is not None
        pytest.fail(f"unexpected {result_verdict.value}: listed as {expected.verdict} ({expected.reason}); "
                    "update the expectations (--update-expectations)", pytrace=False)
    if status is Status.REGRESSION:
        pytest.fail(f"{result_verdict.value}: {message}", pytrace=False)
