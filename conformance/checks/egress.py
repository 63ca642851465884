"""egress.* — does an allowlisting path refuse everything but api.anthropic.com:443? (Only SNI and CONNECT paths.)"""

from __future__ import annotations

import base64
import socket
import ssl
from urllib.parse import unquote, urlsplit

from ..core._exceptions import HarnessError
from ..core._threads import parallel
from ._context import CheckContext
from ._registry import Phase, check
from ._verify import holds, same

ALLOWED = "api.anthropic.com"
# What a CONNECT allowlist is asked, and whether it should tunnel: the API's port only; other hosts, other ports of
# the API's name, loopback and the cloud metadata address (a path that dials what a name resolves to must not reach
# either through a name it allows) refused.
CONNECT_CASES = ((f"{ALLOWED}:443", True), ("example.com:443", False), (f"{ALLOWED}:8443", False),
                 (f"{ALLOWED}:80", False), ("127.0.0.1:443", False), ("169.254.169.254:80", False))


def _handshake(address: tuple[str, int], sni: str | None) -> tuple[bool, str]:
    """True when a TLS handshake naming ``sni`` completes through the path (certificate not checked here)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(address, timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=sni) as tls:
                return True, f"handshake completed ({tls.version()})"
    except (OSError, ssl.SSLError) as exc:
        return False, f"refused: {type(exc).__name__}: {exc}"


def _exchange(address: tuple[str, int], request: bytes) -> str:
    """The status line the path answers to a raw request, or how the connection ended."""
    try:
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(request)
            data = sock.recv(4096)
    except OSError as exc:
        return f"closed: {type(exc).__name__}"
    return data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "closed without an answer"


def _observed(outcome: str, target: str) -> str:
    """A connect's outcome, or ``error`` when the attempt itself failed: "not connected" is then no evidence."""
    if outcome.startswith("error"):
        raise HarnessError(f"a connect to {target} from the agent's sandbox could not be tried: {outcome[:300]}")
    return outcome


@check(id="egress.allowlist-sni", faults={"open-tcp-forwarder": "fail"},
       title="Does the SNI allowlist pass api.anthropic.com and refuse any other SNI, no SNI, and plaintext?",
       requirement="filter_chain_match.server_names: [api.anthropic.com]; every other SNI, no SNI, or "
                   "plaintext is refused.",
       source="shared/reference/envoy-setup.md §4", features=("sni-allowlist",),
       evidence="the outcome of a TLS handshake per SNI, and the answer to plaintext HTTP",
       failure_example="SNI 'example.com': handshake completed (TLSv1.3) — not refused")
def allowlist_sni(ctx: CheckContext) -> None:
    address = ctx.path.reach_address()
    outcomes = {}
    for sni, allowed in ((ALLOWED, True), ("example.com", False), ("evil.api.anthropic.com", False), (None, False)):
        done, detail = _handshake(address, sni)
        outcomes[str(sni)] = detail
        holds(ctx, done == allowed, f"SNI {sni!r}: {detail}" + ("" if allowed else " — not refused"),
              "handshake" if allowed else "refused", detail)
    answer = _exchange(address, b"GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n")
    outcomes["plaintext"] = answer
    holds(ctx, not answer.startswith("HTTP/"), f"plaintext HTTP answered {answer!r} — not refused", "refused", answer)
    ctx.note("outcomes", outcomes)


def _proxy_login(proxy: str | None) -> str:
    """The Proxy-Authorization line for a proxy URL that carries a login, else nothing."""
    parts = urlsplit(proxy or "")
    if not (parts.username and parts.password):
        return ""
    login = f"{unquote(parts.username)}:{unquote(parts.password)}".encode()
    return f"Proxy-Authorization: Basic {base64.b64encode(login).decode()}\r\n"


@check(id="egress.allowlist-connect", faults={"open-connect-proxy": "fail"},
       title="Does the CONNECT allowlist tunnel api.anthropic.com:443 and refuse other hosts, ports "
             "and plain requests?",
       requirement="CONNECT forward proxy with an allowlist of api.anthropic.com:443.",
       source="shared/reference/envoy-setup.md §5", features=("connect-allowlist",),
       evidence="the status line answered to each CONNECT target and to an absolute-form GET",
       failure_example="CONNECT example.com:443 answered 'HTTP/1.1 200 OK' — not refused")
def allowlist_connect(ctx: CheckContext) -> None:
    address = ctx.path.reach_address()
    # A proxy that authenticates its clients (srt gives each sandboxed process a credential) is asked with it.
    login = _proxy_login(ctx.path.connection().proxy)
    outcomes = {}
    for target, allowed in CONNECT_CASES:
        answer = _exchange(address, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{login}\r\n".encode())
        outcomes[target] = answer
        tunnelled = answer.startswith("HTTP/") and answer.split(" ")[1:2] == ["200"]
        holds(ctx, tunnelled == allowed,
              f"CONNECT {target} answered {answer!r}" + ("" if allowed else " — not refused"),
              "200" if allowed else "refused", answer)
    request = f"GET http://api.anthropic.com/v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n{login}\r\n"
    answer = _exchange(address, request.encode())
    outcomes["absolute-form GET"] = answer
    holds(ctx, " 200 " not in answer + " ", f"an absolute-form GET answered {answer!r} — not refused", "refused",
          answer)
    ctx.note("outcomes", outcomes)


@check(id="egress.direct-blocked", faults={"open-sandbox": "fail"},
       title="From the agent's sandbox, is the API unreachable except through the gateway?",
       requirement="Agent pods may reach only the egress gateway (NetworkPolicy): direct egress to the API is blocked.",
       source="issue #18; shared/reference/design-anchors.md (Claude Code behind an egress gateway)",
       features=("sandbox",),
       evidence="what a TCP connect from the agent's network namespace did, to the API's own address and "
                "to the gateway's",
       failure_example="the agent reached the API directly at 10.203.1.1:443 (connected), bypassing the gateway")
def direct_blocked(ctx: CheckContext) -> None:
    from ..paths._sandbox import API_ADDRESS

    sandbox = ctx.run.sandbox
    assert sandbox is not None  # the feature says so
    outcomes = {f"{API_ADDRESS}:443 (the API)": sandbox.try_connect(API_ADDRESS, 443)}
    if sandbox.gateway:  # the one way out must work, or "blocked" would only mean "no network at all"
        host, port = sandbox.gateway
        gateway = f"{host}:{port}"
        outcomes[f"{gateway} (the gateway)"] = sandbox.try_connect(host, port)
        reached = outcomes[f"{gateway} (the gateway)"]
        same(ctx, reached, "connected", f"the agent cannot reach its gateway at {gateway} ({reached})")
    direct = _observed(outcomes[f"{API_ADDRESS}:443 (the API)"], f"{API_ADDRESS}:443")
    holds(ctx, direct != "connected", f"the agent reached the API directly at {API_ADDRESS}:443 ({direct}), "
          "bypassing the gateway", "unreachable or refused", direct)
    ctx.note("outcomes", outcomes)


@check(id="egress.only-allowed-hosts", faults={"open-sandbox": "fail"},
       title="From the agent's sandbox, are other hosts and ports refused or unreachable (and which)?",
       requirement="Agent pods may reach only the egress gateway's port (NetworkPolicy); every other "
                   "destination fails.",
       source="issue #18; shared/reference/design-anchors.md (Claude Code behind an egress gateway)",
       features=("sandbox",),
       evidence="what a TCP connect from the agent's network namespace did to each destination other than its gateway",
       failure_example="10.203.1.1:80 (another port of the internet) connected from the agent")
def only_allowed_hosts(ctx: CheckContext) -> None:
    from ..paths._sandbox import API_ADDRESS, GATEWAY_ADDRESS

    sandbox = ctx.run.sandbox
    assert sandbox is not None  # the feature says so
    others = [(GATEWAY_ADDRESS, port, "another port of the gateway's side") for port in (22, 80, 8080, 3128, 443)
              if (GATEWAY_ADDRESS, port) != sandbox.gateway]
    others += [(API_ADDRESS, 80, "another port of the internet"), ("10.203.1.2", 443, "another host of the internet")]
    outcomes = {}
    for host, port, what in others:
        outcome = _observed(sandbox.try_connect(host, port, timeout=1.0), f"{host}:{port}")
        outcomes[f"{host}:{port} ({what})"] = outcome
        holds(ctx, outcome != "connected", f"{host}:{port} ({what}) connected from the agent",
              "refused, unreachable or timeout", outcome)
    ctx.note("outcomes", outcomes)


# What "non-essential traffic allowed" means: the variables run_claude sets to keep Claude Code quiet, cleared.
_NONESSENTIAL_ALLOWED: dict[str, str | None] = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": None,
                                                "DISABLE_TELEMETRY": None, "DISABLE_ERROR_REPORTING": None,
                                                "DISABLE_AUTOUPDATER": None}
# How much longer a turn may take when Claude Code also tries its blocked non-API hosts before it counts as waiting
# on them: allowed and disabled differ by 0.2-1.5 s on a quiet machine (a few more requests, refused at once), and a
# loaded run once stretched both turns through mitmproxy to 19 and 25 s; so 5 s plus a quarter of the disabled
# turn's time. Each setting is timed twice (two pairs of turns side by side) and the faster turn of each counts: run
# once, a disabled turn caught in a burst of load (5.5 s instead of 0.7) raised the bound above a turn that waited
# 9 s on held hosts.
AUXILIARY_EXTRA_S = 5.0
AUXILIARY_EXTRA_SHARE = 0.25
AUXILIARY_PAIRS = 2


@check(id="egress.claude-code-auxiliary", faults={"hold-nonessential=8": "fail"}, phase=Phase.CLIENT_TIMING,
       title="With its non-API hosts blocked, does Claude Code keep working, with and without "
             "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 (or fail, or hang)?",
       requirement="Behind an allowlist only api.anthropic.com is reachable: telemetry, error reporting, update "
                   "checks and OAuth refresh hosts are not; an agent must still complete its turns, without "
                   "waiting on them.",
       source="issue #18; Claude Code's network configuration (CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC)",
       features=("sandbox", "claude-code", "messages", "streaming"),
       evidence="each turn's exit code, result and time, with non-essential traffic disabled and allowed (two "
                "pairs of turns side by side; the faster of each setting is compared)",
       failure_example="with non-essential traffic allowed the turn took 41.0 s against 4.2 s (it waits "
                       "on blocked hosts)",
       bound_s=120.0)
def claude_code_auxiliary(ctx: CheckContext) -> None:
    from ..upstream import make_directive
    from ._client_runs import claude_run, turn_ok

    settings = (("disabled", {}), ("allowed", _NONESSENTIAL_ALLOWED))
    times: dict[str, list[float]] = {"disabled": [], "allowed": []}
    for _ in range(AUXILIARY_PAIRS):
        runs = parallel(lambda s: claude_run(ctx, f"Say hi {make_directive(cid=ctx.new_cid())}", extra_env=s[1]),
                        settings)
        completed = []
        for (setting, _), run in zip(settings, runs, strict=True):
            times[setting].append(run.ran_s)
            completed.append(turn_ok(ctx, run, f"non-essential traffic {setting}"))
        if not all(completed):
            break  # already failed: no need to time it again
    ctx.note("turn_seconds", times)
    allowed, disabled = min(times["allowed"]), min(times["disabled"])
    bound = disabled * (1 + AUXILIARY_EXTRA_SHARE) + AUXILIARY_EXTRA_S
    holds(ctx, allowed <= bound, f"with non-essential traffic allowed the turn took {allowed:.1f} s against "
          f"{disabled:.1f} s (it waits on blocked hosts)", f"at most {bound:.1f} s", allowed)
