"""What a check works with: a client for the path, the upstream's journal, the direct oracle, and its findings."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from ..clients._observer import UpstreamObserver
from ..core._evidence import body_excerpt
from ..core._exceptions import CheckCancelled, ConformanceError, HarnessError, Unsupported
from ..core._http import Exchange, HarnessClient
from ..core._settings import Settings
from ..core._wire import API_BASE_URL, BETA_HEADER, KNOWN_VERSIONS, Headers
from ..paths import Connection, EgressPath
from ..paths._sandbox import AgentSandbox
from ..upstream import JournalEntry, make_directive
from ._probes import PathLiveness, SharedProbes

DEFAULT_MODEL = "claude-haiku-4-5"
_counter = itertools.count(1)


class CheckEnded(ConformanceError):
    """Raised after a finding that leaves the check nothing more to observe: it stops and is graded on the findings
    it has."""


class NothingReceived(CheckEnded):
    """Raised by ``CheckContext.received`` after recording that the upstream got nothing."""


@dataclass
class Finding:
    """One assertion a check made: what was compared and whether it held."""

    ok: bool
    level: str
    message: str
    expected: Any = None
    actual: Any = None


@dataclass
class TargetRun:
    """One started target, shared by every check that runs against it."""

    path: EgressPath
    observer: UpstreamObserver
    client: HarnessClient
    direct: HarnessClient | None
    model: str = DEFAULT_MODEL
    version: str = KNOWN_VERSIONS[0]
    shared: SharedProbes = field(default_factory=SharedProbes)
    direct_shared: SharedProbes = field(default_factory=SharedProbes)
    """Direct-to-upstream baselines, one store for the whole run: every target compares with the same oracle."""
    liveness: PathLiveness = field(default_factory=PathLiveness)
    startup_error: str | None = None
    startup_unsupported: bool = False
    """The target's software is not installed here: its checks are ``unsupported`` (startup_error says how)."""
    settings: Settings = field(default_factory=Settings.from_env)
    recordings: Path | None = None
    """The user's cassette folder (``--recordings``), or None for the project's own recordings."""
    sandbox: AgentSandbox | None = None
    """The agent's network namespace for this target (feature ``sandbox``), where clients run unmodified."""


class CheckContext:
    """The API a check function uses; it collects findings and evidence for the verdict."""

    def __init__(self, run: TargetRun, level: str) -> None:
        self.run = run
        self.path = run.path
        self.level = level
        self.findings: list[Finding] = []
        self.evidence: dict[str, Any] = {}
        self.cancelled = threading.Event()
        """Set when the check's time ran out: its remaining work stops at the next request or client run."""
        self._on_cancel: list[Callable[[], None]] = []
        self._pause_lock = threading.Lock()
        self._waiters = 0
        self._waiting_since = 0.0
        self._waited = 0.0

    # -- bounded work ----------------------------------------------------------------------------------------

    def on_cancel(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` if this check is cancelled (e.g. kill a client process it started)."""
        self._on_cancel.append(stop)
        if self.cancelled.is_set():
            stop()

    def cancel(self) -> None:
        """Stop this check's work: later requests raise, registered stops run."""
        self.cancelled.set()
        for stop in list(self._on_cancel):
            try:
                stop()
            except Exception:  # a stop that fails must not keep the others from running
                pass

    @contextmanager
    def bound_paused(self) -> Iterator[None]:
        """While inside, the check's time bound does not run: it is waiting for a resource the whole run shares (a
        Claude Code slot, a baseline another check is making), and that queue is not the path's time."""
        with self._pause_lock:
            if self._waiters == 0:
                self._waiting_since = time.monotonic()
            self._waiters += 1
        try:
            yield
        finally:
            with self._pause_lock:
                self._waiters -= 1
                if self._waiters == 0:
                    self._waited += time.monotonic() - self._waiting_since

    def waited_s(self) -> float:
        """Seconds this check has spent in ``bound_paused`` so far (overlapping waits counted once)."""
        with self._pause_lock:
            ongoing = time.monotonic() - self._waiting_since if self._waiters else 0.0
            return self._waited + ongoing

    def check_live(self) -> None:
        """Raise (verdict ``error``) when the check was cancelled or its path has stopped answering."""
        if self.cancelled.is_set():
            raise CheckCancelled("cancelled: the check's time ran out")
        reason = self.run.liveness.dead_reason
        if reason:
            raise HarnessError(reason)

    # -- requests --------------------------------------------------------------------------------------------

    def new_cid(self) -> str:
        return f"c{next(_counter):04d}{uuid.uuid4().hex[:8]}"

    def body(
        self, text: str = "Say hi.", *, cid: str | None = None, stream: bool = False, **directive: Any
    ) -> dict[str, Any]:
        """A small Messages request whose user text carries the scenario directive and the correlation id."""
        cid = cid or self.new_cid()
        body: dict[str, Any] = {
            "model": self.run.model,
            "max_tokens": 64,
            "messages": [{"role": "user", "content": f"{text} {make_directive(cid=cid, **directive)}"}],
        }
        if stream:
            body["stream"] = True
        return body

    def auth_headers(self, kind: str = "api-key") -> list[tuple[str, str]]:
        """Headers for credential ``kind`` on this path, or ``unsupported`` when the path cannot carry it."""
        feature = "oauth" if kind == "oauth" else "api-key"
        self.require_feature(feature)
        headers = self.path.client_auth(kind, self.run.observer.credentials)
        if headers is None:
            self.unsupported(f"the path does not carry credential kind {kind}")
        return headers

    def send(
        self,
        body: Any = None,
        *,
        auth: str = "api-key",
        path: str = "/v1/messages",
        method: str = "POST",
        headers: list[tuple[str, str]] | None = None,
        content: bytes | None = None,
        label: str | None = None,
        direct: bool = False,
        version: bool = True,
        timeout: float | None = None,
    ) -> Exchange:
        """Send a request through the path (or straight to the upstream with ``direct``) and keep it as evidence."""
        typed = any(name.lower() == "content-type" for name, _ in headers or [])
        base = [("content-type", "application/json")] if method == "POST" and not typed else []
        if version:
            base.append(("anthropic-version", self.run.version))
        auth_list = self.auth_headers(auth) if auth else []
        if direct:
            auth_list = self.direct_auth(auth)
        all_headers = base + auth_list + list(headers or [])
        cid = _cid_of(body)
        client = self.run.direct if direct else self.run.client
        if client is None:
            self.unsupported("no direct route to the upstream in this mode")
        self.check_live()
        exchange = client.send(method, path, headers=_merge_beta(all_headers), body=body, content=content, cid=cid,
                               timeout=timeout)
        if not direct:
            self.run.liveness.record(exchange)
        self.evidence.setdefault("exchanges", []).append(
            {"label": label or path, "direct": direct, **exchange_evidence(exchange)}
        )
        return exchange

    def client_connection(self, direct: bool = False) -> tuple[Connection, list[str]]:
        """Where a client process reaches the path (or the upstream, ``direct``), and the command prefix it runs
        under: in a closed agent sandbox it runs inside, unmodified as in an agent pod (no base URL; the name
        resolves to the gateway, or HTTPS_PROXY is the only way out)."""
        if direct:
            return Connection(self.run.observer.base_url), []
        connection = self.path.connection()
        sandbox = self.run.sandbox
        if sandbox is None or sandbox.open is not False:
            return connection, []
        proxy = f"http://{sandbox.gateway[0]}:{sandbox.gateway[1]}" if connection.proxy and sandbox.gateway else None
        return Connection(API_BASE_URL, proxy=proxy), sandbox.exec_prefix()

    def direct_auth(self, kind: str) -> list[tuple[str, str]]:
        """Headers for credential ``kind`` when talking straight to the upstream (the oracle run)."""
        if not kind:
            return []
        credentials = self.run.observer.credentials
        return credentials.headers(kind) or credentials.headers("api-key") or []

    def reached(self, exchange: Exchange) -> Exchange:
        """The exchange, or verdict ``error`` when the path could not be reached at all."""
        if exchange.status is None:
            what = "unreachable" if "Connect" in (exchange.error or "") else "gave no response"
            raise HarnessError(f"{self.path.name} {what} at {exchange.url}: {exchange.error}")
        return exchange

    # -- the upstream's side ---------------------------------------------------------------------------------

    def require_journal(self) -> None:
        """``unsupported`` where the upstream keeps no journal (live): a check judged by what arrived cannot run."""
        if not self.run.observer.observable:
            self.unsupported("upstream not observable (no journal in this upstream mode)")

    def journal(self, cid: str) -> list[JournalEntry]:
        """What the upstream received for correlation id ``cid``; ``unsupported`` where it keeps no journal (live)."""
        self.require_journal()
        return self.run.observer.entries(cid)

    def upstream_entries(self, exchange: Exchange) -> list[JournalEntry]:
        """Everything the upstream received for this exchange's correlation id."""
        if exchange.cid is None:
            self.require_journal()
            raise HarnessError("exchange has no correlation id")
        entries = self.journal(exchange.cid)
        if entries:
            self.evidence.setdefault("upstream", []).extend(entry_evidence(e) for e in entries[-2:])
        return entries

    def upstream_entry(self, exchange: Exchange, level: str | None = None) -> JournalEntry | None:
        """The last thing the upstream received for this exchange, or None (a finding is recorded, at ``level``
        if given)."""
        entries = self.upstream_entries(exchange)
        if not entries:
            self.expect(
                False,
                f"the upstream received no request for {exchange.cid}",
                actual=f"client got {exchange.status}: {exchange.body[:300]!r}",
                # The path failed the request and nothing reached the upstream: no level makes that a partial
                # pass. A path that answered 200 by itself is graded at the check's level.
                level=level or (None if exchange.status == 200 else "must"),
            )
            return None
        return entries[-1]

    def received(self, exchange: Exchange, level: str | None = None) -> JournalEntry:
        """What the upstream received for this exchange; when nothing arrived, the finding is recorded (at
        ``level`` if given) and the check ends there (graded on its findings so far)."""
        entry = self.upstream_entry(exchange, level)
        if entry is None:
            raise NothingReceived(exchange.cid or "")
        return entry

    # -- findings --------------------------------------------------------------------------------------------

    def expect(
        self, ok: bool, message: str, *, expected: Any = None, actual: Any = None, level: str | None = None
    ) -> bool:
        """Record an assertion at the check's level (or ``level``); returns ``ok``."""
        self.findings.append(Finding(bool(ok), level or self.level, message, expected, actual))
        return bool(ok)

    def note(self, key: str, value: Any) -> None:
        """Store an observation in the evidence."""
        self.evidence[key] = value

    def require_feature(self, feature: str) -> None:
        if feature not in self.path.features:
            reason = self.path.unsupported_reasons.get(feature, "not declared by the path")
            self.unsupported(f"needs feature {feature}: {reason}")

    def unsupported(self, reason: str) -> NoReturn:
        raise Unsupported(reason)

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        return self.run.shared.get(key, make)

    def shared_direct(self, key: str, make: Callable[[], Any]) -> Any:
        """A direct-to-upstream baseline computed once per run and shared by every target's check."""
        return self.run.direct_shared.get(key, make, self.bound_paused)


def json_or_none(data: bytes) -> Any:
    """``data`` parsed as JSON, or None when it is not JSON (bodies a broken path sent are evidence, not errors)."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def _cid_of(body: Any) -> str | None:
    from ..upstream import directive_values

    return directive_values(body).get("cid")


def _merge_beta(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Join several anthropic-beta headers into one, as a client does (repeats kept: a check may send one)."""
    betas = Headers(headers).get_all(BETA_HEADER)
    if len(betas) <= 1:
        return headers
    return Headers(headers).without(BETA_HEADER) + [(BETA_HEADER, ",".join(betas))]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def exchange_evidence(exchange: Exchange) -> dict[str, Any]:
    """What the client sent and got: sizes and digests always; headers and body excerpts for the reports to keep
    when the verdict needs them (``conformance.core._evidence`` trims them from passes)."""
    return {
        "request": {
            "method": exchange.method,
            "url": exchange.url,
            "headers": exchange.request_headers,
            "body": body_excerpt(exchange.request_body),
            "bytes": len(exchange.request_body),
            "sha256": _digest(exchange.request_body),
        },
        "response": {
            "status": exchange.status,
            "headers": exchange.headers,
            "body": body_excerpt(exchange.body),
            "bytes": len(exchange.body),
            "wire_bytes": len(exchange.raw_body),
            "sha256": _digest(exchange.body),
            "error": exchange.error,
            "chunks": len(exchange.chunks),
        },
    }


def entry_evidence(entry: JournalEntry) -> dict[str, Any]:
    """What the upstream received and sent, in the same shape as ``exchange_evidence``."""
    body = entry.response_body
    return {
        "received": {
            "method": entry.method,
            "path": entry.path,
            "query": entry.query,
            "headers": entry.headers,
            "body": body_excerpt(entry.body) + (" (the first part of the body)" if entry.body_truncated else ""),
            "bytes": entry.body_length,
            "sha256": entry.body_sha256[:16],
            "sni": entry.sni,
        },
        "sent": {
            "status": entry.status,
            "headers": entry.response_headers,
            "body": body_excerpt(body),
            "bytes": len(body),
            "wire_bytes": len(entry.wire_body),
            "sha256": _digest(body),
            "completed": entry.completed,
        },
    }
