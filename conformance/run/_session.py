"""A checklist session: the upstream, every selected target started once, the results, torn down at the end."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..checks import DEFAULT_MODEL, REGISTRY, Check, SharedProbes, TargetRun
from ..clients._installs import install_clients
from ..clients._observer import UpstreamObserver
from ..core._exceptions import PathUnsupported
from ..core._http import HarnessClient
from ..core._redact import redact, register_secret
from ..core._settings import Settings
from ..core._vocab import UpstreamMode
from ..core._wire import API_BASE_URL
from ..paths import Credentials, EgressPath, PathError, UpstreamSide, resolve_target
from ..paths._sandbox import AgentSandbox, sandbox_for
from ..results._expectations import Expectation, lookup
from ..results._expectations import load as load_expectations
from ..results._result import CheckResult
from ..upstream import UPSTREAM_HOSTNAME, UpstreamConfig, UpstreamProcess
from ._engine import run_check
from ._plan import plan
from ._schedule import CheckScheduler, Job

LIVE_URL = API_BASE_URL
# Where a gateway the harness starts finds the CAs it trusts for the real API (SSL_CERT_FILE wins).
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@dataclass
class SessionOptions:
    """Everything the command line decides about a run."""

    targets: list[str] = field(default_factory=lambda: ["direct"])
    base_url: str | None = None
    proxy_headers: list[tuple[str, str]] = field(default_factory=list)
    model: str = DEFAULT_MODEL
    upstream: UpstreamMode | str = UpstreamMode.REFERENCE
    upstream_url: str | None = None
    upstream_gzip: bool = True
    without: frozenset[str] = frozenset()
    check_timeout: float = 60.0
    request_timeout: float = 30.0
    settings: Settings = field(default_factory=Settings.from_env)
    """Pins, cache folder, credentials and versions (``Settings.from_env`` with the command line's overrides)."""
    recordings: Path | None = None
    """A user's cassette folder (``--recordings``): the upstream can replay it, replay.* sends it through paths."""


class ChecklistSession:
    """Starts the upstream and the targets, runs every check in the background as soon as its target is up (slow
    ones each on their own, quick ones in order per target), hands out the results, stops everything."""

    def __init__(self, options: SessionOptions, say: callable = print) -> None:  # type: ignore[valid-type]
        self.options = options
        self.say = say
        self.upstream: UpstreamProcess | None = None
        self.observer: UpstreamObserver | None = None
        self.runs: dict[str, TargetRun] = {}
        self.results: list[CheckResult] = []
        self.expectations: dict[str, list[Expectation]] = {}
        self.started_at = time.time()
        self.selected: list[tuple[str, str]] = []
        """Every check × target this run set out to run, in order (what did not run is reported as such)."""
        self.direct_shared = SharedProbes()
        self.performance: dict[str, Any] = {}
        """Per target, what it costs against direct (``--perf``), measured after the checks."""
        self._stopping = threading.Event()
        self._ahead: dict[tuple[str, str], Future[CheckResult]] = {}
        self._scheduler = CheckScheduler(self.bound, self._stopping)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, selected: Sequence[tuple[str, str]] | set[tuple[str, str]] | None = None) -> None:
        """Start the upstream and targets, then every check × target in ``selected`` in the background; without
        ``selected`` nothing starts ahead and each ``run`` call runs its check there and then. Slow checks start in
        ``selected``'s order (the order their results will be asked for)."""
        order = list(selected or ())
        selected = set(order)
        self.selected = [(c, t) for t in self.options.targets for c in REGISTRY if (c, t) in selected]
        install_clients({c for c, _ in self.selected}, self.options.settings, self.say)
        self.observer = self._start_upstream()
        live = self.options.upstream == UpstreamMode.LIVE
        side = UpstreamSide(
            base_url=self.observer.base_url,
            credentials=self.observer.credentials,
            ca_pem=str(self.upstream.ca_pem) if self.upstream and self.upstream.ca_pem else
            (os.environ.get("SSL_CERT_FILE") or SYSTEM_CA_BUNDLE if live else None),
            tls_port=self.upstream.tls_port if self.upstream else (443 if live else None),
            tls_host=UPSTREAM_HOSTNAME if live else "127.0.0.1",
            settings=self.options.settings,
            api_address=self.upstream.api_address if self.upstream else None,
        )
        started: dict[str, TargetRun] = {}

        def start_one(word: str) -> None:
            run = self._start_target(word, side)
            started[word] = run
            if self._stopping.is_set():  # the run was stopped while this target came up: nobody else will stop it
                run.path.stop()

        # Targets come up side by side: LiteLLM takes seconds to be ready, five of them in a row took half a run.
        starters = [threading.Thread(target=start_one, args=(word,), name=f"start-{word}", daemon=True)
                    for word in self.options.targets]
        for thread in starters:
            thread.start()
        for thread in starters:
            thread.join()
        self.runs = {word: started[word] for word in self.options.targets if word in started}
        # Checks start once every target is up, so no timing is measured while a gateway's start-up holds the CPU;
        # and the timing checks of every target run first, alone: measured inside the full load of the run, the
        # same LiteLLM added 0.3 ms per event alone and 50-75 ms in the matrix.
        up = [(c, t) for c, t in order if t in self.runs and not self.runs[t].startup_error]
        for stage in plan(up):
            jobs = [self._job(key) for key in stage.keys]
            if stage.how == "alone":  # each on its own thread: they wait on the clock, side by side
                futures = [self._scheduler.in_sequence([job])[0] for job in jobs]
            elif stage.how == "groups":
                futures = self._scheduler.in_groups(jobs, stage.at_once)
            elif stage.how == "pool":
                futures = self._scheduler.in_pool(jobs, stage.at_once)
            else:
                # One after another per target, targets side by side: one target's quick checks never overlap
                # each other, and a run of ten targets takes about as long as its slowest one.
                for word in dict.fromkeys(t for _, t in stage.keys):
                    keys = [key for key in stage.keys if key[1] == word]
                    self._ahead.update(zip(keys, self._scheduler.in_sequence([self._job(k) for k in keys]),
                                           strict=True))
                continue
            self._ahead.update(zip(stage.keys, futures, strict=True))

    def _job(self, key: tuple[str, str]) -> Job:
        check_id, word = key
        return REGISTRY[check_id], self.runs[word]

    def _start_upstream(self) -> UpstreamObserver:
        mode = self.options.upstream
        if mode == UpstreamMode.LIVE:
            credentials = Credentials(self.options.settings.live_api_key, self.options.settings.live_oauth_token)
            for secret in (credentials.api_key, credentials.oauth_token):
                register_secret(secret)
            return UpstreamObserver(mode, LIVE_URL, credentials)
        # The reference upstream's credentials; overridable so a run can use sentinel values (redaction tests).
        credentials = Credentials(self.options.settings.api_key, self.options.settings.oauth_token)
        for secret in (credentials.api_key, credentials.oauth_token):
            register_secret(secret)
        if self.options.upstream_url:
            # A reference upstream the user started serves recordings by directive too, so replay works there;
            # the mode recorded is the one that ran: replay, or remote (the synthetic upstream, over HTTP).
            url = self.options.upstream_url.rstrip("/")
            observed = "replay" if mode == UpstreamMode.REPLAY else "remote"
            return UpstreamObserver(observed, url, credentials, journal_url=url)
        config = UpstreamConfig(api_keys={credentials.api_key}, oauth_tokens={credentials.oauth_token},
                                gzip=self.options.upstream_gzip,
                                recordings_dirs=(self.options.recordings.resolve(),) if self.options.recordings else ())
        # In a process of its own: in the harness's, its answers waited on every check thread (UpstreamProcess).
        self.upstream = UpstreamProcess(config).start()
        return UpstreamObserver(mode, self.upstream.base_url, credentials, journal_url=self.upstream.journal_url)

    def _start_target(self, word: str, side: UpstreamSide) -> TargetRun:
        assert self.observer is not None
        started = time.perf_counter()
        try:
            path = resolve_target(word, self.options.base_url, self.options.proxy_headers, self.options.without)
        except PathError as exc:
            self.say(f"error: {exc}")
            return self._failed_run(EgressPath(name=word), str(exc))
        for _, value in path.proxy_headers:
            register_secret(value.split(" ", 1)[-1])
        try:
            path.start(side)
            _reachable(*path.reach_address())
            _answers(path)
        except (PathError, OSError) as exc:
            message = f"target {word}: {exc}"
            missing = isinstance(exc, PathUnsupported)  # this machine cannot run it: unsupported, with the reason
            self.say(f"{'unsupported' if missing else 'error'}: {redact(message)}")
            path.stop()
            return self._failed_run(path, message, unsupported=missing)
        path.metadata.setdefault("startup_s", round(time.perf_counter() - started, 3))
        try:
            self.expectations[word] = load_expectations(word, self.options.settings.expectations_dir)
        except ValueError as exc:
            self.say(f"error: {exc}")
            path.stop()
            return self._failed_run(path, str(exc))
        direct = HarnessClient(self.observer.base_url, timeout=self.options.request_timeout)
        return TargetRun(
            path=path,
            observer=self.observer,
            client=path.client(self.options.request_timeout),
            direct=direct,
            model=self.options.model,
            direct_shared=self.direct_shared,
            settings=self.options.settings,
            recordings=self.options.recordings,
            sandbox=self._sandbox_for(path),
        )

    def _sandbox_for(self, path: EgressPath) -> AgentSandbox | None:
        tls_port = self.upstream.tls_port if self.upstream is not None else None
        return sandbox_for(path, tls_port, urlsplit(self.observer.base_url).port or 80)

    def _failed_run(self, path: EgressPath, message: str, *, unsupported: bool = False) -> TargetRun:
        assert self.observer is not None
        client = HarnessClient("http://127.0.0.1:9", timeout=1)
        return TargetRun(path=path, observer=self.observer, client=client, direct=None, startup_error=message,
                         startup_unsupported=unsupported, settings=self.options.settings)

    def measure_performance(self) -> None:
        """Measure each started target against direct, one at a time, after every check has finished."""
        from ._perf import DirectTls, measure

        upstream = self.upstream
        direct_tls = (DirectTls(upstream.tls_port, str(upstream.ca_pem))
                      if upstream is not None and upstream.tls_port and upstream.ca_pem else None)
        for word, run in self.runs.items():
            if run.startup_error or self._stopping.is_set():
                continue
            try:
                self.performance[word] = measure(run, say=self.say, direct_tls=direct_tls)
            except Exception as exc:  # one target's failed measurement is reported, the others still run
                self.say(f"error: perf {word}: {type(exc).__name__}: {exc}")
                self.performance[word] = {"error": f"{type(exc).__name__}: {exc}"}

    def stop(self) -> None:
        """Cancel checks still running, stop every target and the upstream, and reap every child process."""
        from ..core import _reaper

        self._stopping.set()

        def stop_one(run: TargetRun) -> None:
            try:
                run.path.stop()
            finally:
                if run.sandbox is not None:
                    run.sandbox.close()
                run.client.close()
                if run.direct:
                    run.direct.close()

        # Side by side: each target may take its grace period to stop, and the run must end within seconds.
        stoppers = [threading.Thread(target=stop_one, args=(run,), daemon=True) for run in self.runs.values()]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(15)
        if self.upstream is not None:
            self.upstream.stop()
        if self.observer is not None:
            self.observer.close()
        _reaper.reap_all()

    def harvest(self) -> None:
        """Take in every result that finished in the background but was not asked for yet (an interrupted run)."""
        for key, future in list(self._ahead.items()):
            if future.done():
                self._ahead.pop(key, None)
                if not future.result().stopped:  # cut off by the teardown: it did not run
                    self.results.append(future.result())

    @property
    def not_run(self) -> list[tuple[str, str]]:
        """The selected check × target pairs that have no result (an interrupted run)."""
        done = {(r.check_id, r.target) for r in self.results}
        return [pair for pair in self.selected if pair not in done]

    # -- running ---------------------------------------------------------------------------------------------

    def expectation(self, check_id: str, target: str) -> Expectation | None:
        """The known verdict of ``check_id`` on ``target`` (from fixtures/expectations/), if any."""
        run = self.runs.get(target)
        version = run.path.version if run else None
        return lookup(self.expectations.get(target, []), check_id, version)

    def bound(self, check: Check) -> float:
        """Seconds ``check`` may take: its own bound where it declares one, else ``--check-timeout``."""
        return check.bound_s or self.options.check_timeout

    def run(self, check_id: str, target: str) -> CheckResult:
        """The result of one check on one target (from the background when it was started ahead)."""
        check = REGISTRY[check_id]
        future = self._ahead.pop((check_id, target), None)
        if future is not None:
            result = future.result()  # resolves: every check before it on its thread is bounded too
        else:
            result = run_check(check, self.runs[target], timeout=self.bound(check), stop=self._stopping)
        self.results.append(result)
        return result


def _answers(path: EgressPath, within: float = 10.0) -> None:
    """Raise PathError when the path takes connections but answers nothing to ``HEAD /`` within ``within`` seconds
    (any status or transport error counts as an answer): a silent gateway would otherwise cost every check its
    own time bound before the run could say so."""
    client = path.client(within)
    try:
        exchange = client.send("HEAD", "/", headers=[*path.proxy_headers, *path.route_headers])
    finally:
        client.close()
    if exchange.status is None and (exchange.error or "").startswith(("ReadTimeout", "PoolTimeout")):
        raise PathError(f"the path accepted a connection but answered nothing to HEAD / in {within:.0f} s")


def _reachable(host: str, port: int) -> None:
    """Raise PathError when nothing listens at ``host:port`` (one clear line instead of N timeouts)."""
    try:
        with socket.create_connection((host, port), timeout=5):
            pass
    except OSError as exc:
        raise PathError(f"unreachable base URL {host}:{port}: {exc.strerror or exc}") from None
