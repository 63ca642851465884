"""auth.* — do credentials reach the upstream in the header kind the client used, and do auth failures come back?"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

from ..core._exceptions import HarnessError
from ..core._wire import API_KEY_HEADER, AUTHORIZATION, OAUTH_BETA
from ._context import CheckContext, json_or_none
from ._registry import Phase, check
from ._requirements import API_ERRORS, CLAUDE_CODE_GATEWAY, OAUTH, WIRE_DOC
from ._verify import answered, holds, same, upstream_answered

_CREDENTIAL_HEADERS = (API_KEY_HEADER, AUTHORIZATION)


def _answered(ctx: CheckContext, kind: str) -> None:
    exchange = ctx.reached(ctx.send(ctx.body(), auth=kind, label=f"{kind} request"))
    answered(ctx, exchange, f"a request with credential kind {kind} was answered {exchange.status}")
    entry = ctx.received(exchange)
    upstream_answered(ctx, entry, f"the upstream answered {entry.status} to the {kind} request")


@check(id="auth.api-key-accepted", faults={"drop-request-header=x-api-key": "fail"},
       title="Is a request authenticated with an API key answered by the upstream?",
       requirement="x-api-key: sk-ant-api03-… authenticates a Messages request.", source=f"{WIRE_DOC} §3.1",
       features=("messages", "api-key"), failure_example="a request with credential kind api-key was answered 401")
def api_key_accepted(ctx: CheckContext) -> None:
    _answered(ctx, "api-key")


@check(id="auth.oauth-accepted", faults={"oauth-to-x-api-key": "fail"},
       title="Is a request authenticated with an OAuth token (Bearer + oauth beta) answered end to end?",
       requirement=OAUTH, source=f"{WIRE_DOC} §3.1-3.2", features=("messages", "oauth"),
       failure_example="a request with credential kind oauth was answered 429")
def oauth_accepted(ctx: CheckContext) -> None:
    _answered(ctx, "oauth")


@check(id="auth.header-kind-preserved", faults={"bearer-to-x-api-key": "fail", "oauth-to-x-api-key": "fail"},
       title="Does the credential arrive upstream in the header kind it should (x-api-key stays x-api-key, "
             "Bearer stays Bearer)?",
       requirement=OAUTH, source=f"{WIRE_DOC} §3", features=("messages", "api-key"),
       evidence="the credential headers the upstream received (redacted to their class)",
       failure_example="oauth: expected authorization: Bearer sk-ant-oat01-… upstream, got x-api-key: sk-ant-oat01-…")
def header_kind_preserved(ctx: CheckContext) -> None:
    kinds = ["api-key", "api-key-bearer"] + (["oauth"] if "oauth" in ctx.path.features else [])
    for kind in kinds:
        exchange = ctx.reached(ctx.send(ctx.body(), auth=kind, label=f"{kind} request"))
        entry = ctx.upstream_entry(exchange)
        if entry is None:
            continue
        name, value = ctx.path.expected_upstream_auth(kind, ctx.run.observer.credentials)
        got = [(k.lower(), v) for k, v in entry.headers if k.lower() in _CREDENTIAL_HEADERS]
        same(ctx, got, [(name, value)], f"{kind}: expected {name}: {value[:20]}… upstream, got "
             + (", ".join(f"{k}: {v[:20]}…" for k, v in got) or "no credential"))


@check(id="auth.oauth-beta-once", faults={"duplicate-beta": "fail", "strip-beta": "fail"},
       title="Does the oauth-2025-04-20 beta reach the upstream exactly once, with the client's other betas?",
       requirement=OAUTH, source=f"{WIRE_DOC} §3.1", features=("messages", "oauth"),
       failure_example="anthropic-beta upstream: ['oauth-2025-04-20', 'oauth-2025-04-20', 'interleaved-thinking-…']")
def oauth_beta_once(ctx: CheckContext) -> None:
    extra = "interleaved-thinking-2025-05-14"
    exchange = ctx.reached(ctx.send(ctx.body(), auth="oauth", headers=[("anthropic-beta", extra)]))
    entry = ctx.received(exchange)
    received = entry.headers.betas()
    same(ctx, received.count(OAUTH_BETA), 1, f"the oauth beta arrived {received.count(OAUTH_BETA)} times",
         shown=received)
    if ctx.path.holds_credential is None:
        holds(ctx, extra in received, f"the client's beta {extra} did not arrive", extra, received)


@check(id="auth.invalid-credential-401", faults={"errors-to-500": "fail"},
       title="Is an invalid credential answered with the upstream's 401 authentication_error, unmasked?",
       requirement="401 authentication_error: There's an issue with your API key.", source=API_ERRORS,
       features=("messages", "api-key"), failure_example="invalid credential answered 500 with error.type None")
def invalid_credential(ctx: CheckContext) -> None:
    if ctx.path.holds_credential is not None:
        ctx.unsupported("the path injects its own upstream credential; the client cannot present an invalid one")
    bad = "sk-ant-api03-invalid-conformance-credential-000000000000000000000000"
    body = ctx.body()
    headers = [("x-api-key", bad), *ctx.path.proxy_headers, *ctx.path.route_headers]
    exchange = ctx.reached(ctx.send(body, auth="", headers=headers, label="invalid credential"))
    data = exchange.json_or_none() or {}
    error = data.get("error") if isinstance(data, dict) else None
    same(ctx, exchange.status, 401, f"invalid credential answered {exchange.status}")
    holds(ctx, isinstance(error, dict) and error.get("type") == "authentication_error",
          "the 401 body is not an authentication_error envelope", "authentication_error", exchange.body[:300])
    entry = ctx.upstream_entry(exchange)
    if entry is not None and isinstance(error, dict):
        upstream_error = _json(entry.response_body).get("error", {})
        same(ctx, error.get("message"), upstream_error.get("message"), "the 401 message differs from the upstream's")


@check(id="auth.no-proxy-credential-upstream", faults={"leak-proxy-key": "fail"},
       title="Is no proxy-only credential (a gateway key, x-litellm-api-key) sent on to the upstream?",
       requirement="Credentials that authenticate the client to the gateway are the gateway's; they must not leave it.",
       source=CLAUDE_CODE_GATEWAY, features=("messages",),
       failure_example="the upstream received the gateway credential in x-litellm-api-key")
def no_proxy_credential(ctx: CheckContext) -> None:
    exchange = ctx.reached(ctx.send(ctx.body()))
    entry = ctx.received(exchange)
    secrets = [v for _, v in ctx.path.proxy_headers if v]
    secrets = [s.split(" ", 1)[-1] for s in secrets]
    leaked = [(k, "…") for k, v in entry.headers if any(s and s in v for s in secrets)]
    leaked += [("x-litellm-api-key", "…") for _ in entry.headers.get_all("x-litellm-api-key")]
    same(ctx, leaked, [], f"the upstream received proxy credentials in {sorted({k for k, _ in leaked})}")


def _json(data: bytes) -> dict:
    value = json_or_none(data)
    return value if isinstance(value, dict) else {}


# The variables an agent's Anthropic credential lives in (Claude Code and the SDKs read these), with their kind.
AGENT_CREDENTIAL_VARIABLES = {"CLAUDE_CODE_OAUTH_TOKEN": "oauth", "ANTHROPIC_API_KEY": "api-key"}
# Run inside the agent's sandbox: its environment, and every environment and command line it can see in /proc, as
# digests (the real values are never sent in, and never come out).
_AGENT_VIEW = r"""
import glob, hashlib, json, os
def digest(v): return hashlib.sha256(v.encode()).hexdigest()
seen = {}
for path in glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline"):
    try:
        parts = open(path, "rb").read().decode(errors="replace").split("\0")
    except OSError:
        continue
    for part in filter(None, parts):
        for value in {part, part.split("=", 1)[-1]}:
            seen.setdefault(digest(value), path)
print(json.dumps({"env": {k: {"sha256": digest(v), "length": len(v)} for k, v in os.environ.items()},
                  "everything": seen}))
"""


@check(id="auth.credential-masked-in-sandbox", faults={"srt-unmasked": "fail"}, phase=Phase.SLOW,
       title="Does the agent hold only a placeholder for its Anthropic credential while the upstream receives the "
             "real one (OAuth as Bearer with its beta)?",
       requirement="A path that masks credentials keeps the real token out of the agent's sandbox and puts it back, "
                   "in the header the API expects, only on the way to api.anthropic.com.",
       source='issue #32; @anthropic-ai/sandbox-runtime README (credentials, mode: "mask")',
       features=("masked-credential", "sandbox", "claude-code", "oauth"),
       evidence="what the agent's environment holds (described, never shown) and whether a real credential is in any "
                "environment or command line visible in its /proc; the upstream's Authorization",
       failure_example="inside the agent's sandbox CLAUDE_CODE_OAUTH_TOKEN is the real credential, not a placeholder",
       bound_s=120.0)
def credential_masked(ctx: CheckContext) -> None:
    from ..core._settings import child_environment
    from ..upstream import make_directive
    from ._client_runs import claude_run, turn_ok

    sandbox = ctx.run.sandbox
    assert sandbox is not None  # the feature says so
    credentials = ctx.run.observer.credentials
    real = {"CLAUDE_CODE_OAUTH_TOKEN": credentials.oauth_token, "ANTHROPIC_API_KEY": credentials.api_key}
    try:
        done = sandbox.run_inside([sys.executable, "-c", _AGENT_VIEW], child_environment(real), timeout=30)
        view = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        raise HarnessError("the agent's environment could not be read from inside its sandbox") from None
    held = {}
    for name, value in real.items():
        inside = view["env"].get(name)
        secret = hashlib.sha256(value.encode()).hexdigest()
        held[name] = "missing" if inside is None else "the real credential" if inside["sha256"] == secret else \
            f"a placeholder of {inside['length']} characters"
        holds(ctx, inside is not None and inside["sha256"] != secret,
              f"inside the agent's sandbox {name} is {held[name]}, not a placeholder", "a placeholder", held[name])
        where = view["everything"].get(secret)
        holds(ctx, where is None, f"the real {AGENT_CREDENTIAL_VARIABLES[name]} credential is readable inside the "
              f"agent's sandbox ({where})", "nowhere", where)
    ctx.note("agent_holds", held)
    cid = ctx.new_cid()
    run = claude_run(ctx, f"Say hi {make_directive(cid=cid)}", kind="oauth")
    if not turn_ok(ctx, run, "masked oauth turn"):
        return
    entries = ctx.journal(cid)
    bearer = [e.headers.get(AUTHORIZATION) == f"Bearer {credentials.oauth_token}" for e in entries]
    betas = [OAUTH_BETA in e.headers.betas() for e in entries]
    holds(ctx, bool(entries) and all(bearer) and not any(e.headers.get(API_KEY_HEADER) for e in entries),
          "the upstream did not receive the real OAuth token as Authorization: Bearer on every request "
          f"({sum(bearer)} of {len(entries)})", "Bearer <the real token>", f"{sum(bearer)} of {len(entries)} requests")
    holds(ctx, all(betas), f"the oauth beta was missing on {betas.count(False)} of {len(entries)} requests",
          OAUTH_BETA, f"{sum(betas)} of {len(entries)}")
