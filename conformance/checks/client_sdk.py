"""client.sdk.* — does the official anthropic SDK behave through the path as it does straight to the upstream?

Some breakages only show in client behaviour: which exception the SDK raises, how many attempts its retry logic
makes (x-should-retry, retry-after), whether it can still name the request.
"""

from __future__ import annotations

from typing import Any

from ..core._exceptions import HarnessError
from ..core._redact import redact
from ..core._threads import parallel
from ..paths import Connection
from ..upstream import make_directive
from ._context import CheckContext
from ._registry import Phase, check
from ._requirements import CLAUDE_CODE_GATEWAY, RETRY_HEADERS, WIRE_DOC
from ._verify import holds, same

# (status, x-should-retry): the SDK's policy differs in each (reference doc §2.4).
RETRY_CASES = ((429, "none"), (429, "false"), (529, "true"), (500, "false"), (400, "true"))


def _sdk(ctx: CheckContext, kind: str = "api-key", direct: bool = False) -> Any:
    from ..clients._sdk import sdk_client

    if direct:
        return sdk_client(Connection(ctx.run.observer.base_url), ctx.direct_auth(kind))
    return sdk_client(ctx.path.connection(), ctx.auth_headers(kind))


def _message(ctx: CheckContext, text: str, **directive: Any) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"{text} {make_directive(cid=ctx.new_cid(), **directive)}"}]


def _summary(message: Any) -> dict[str, Any]:
    """What must agree between two runs of the same request (ids and dates are volatile)."""
    return {"content": [b.model_dump(exclude={"id"}) for b in message.content], "stop_reason": message.stop_reason,
            "model": message.model, "usage": {k: getattr(message.usage, k, None) for k in
                                              ("input_tokens", "output_tokens", "cache_read_input_tokens")}}


def _both(ctx: CheckContext, call: Any) -> tuple[Any, Any]:
    """``call(client)`` through the path and direct; exceptions are returned, not raised."""
    results = []
    for direct in (False, True):
        client = _sdk(ctx, direct=direct)
        try:
            results.append(call(client))
        except Exception as exc:  # the SDK's exception is the observation
            results.append(exc)
        finally:
            client.close()
    return results[0], results[1]


@check(id="client.sdk.create-and-stream", faults={"mutate-text": "fail"},
       title="Do messages.create and messages.stream(…).get_final_message() give the same message as direct?",
       requirement="The SDK's parsed message is the same through the gateway as without it (volatile ids aside).",
       source=f"{WIRE_DOC} §4.4",
       evidence="the parsed messages (content, stop_reason, model, usage) through the path and direct",
       failure_example="messages.stream: content differs from direct")
def create_and_stream(ctx: CheckContext) -> None:
    ctx.auth_headers("api-key")
    tools = [{"name": "lookup", "description": "Look it up.",
              "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}]

    def create(client: Any) -> Any:
        return client.messages.create(model=ctx.run.model, max_tokens=64, tools=tools,
                                      messages=_message(ctx, "Hi", deltas=6))

    def stream(client: Any) -> Any:
        with client.messages.stream(model=ctx.run.model, max_tokens=64, tools=tools,
                                    messages=_message(ctx, "Use it", tool="lookup")) as s:
            return s.get_final_message()

    for label, call in (("messages.create", create), ("messages.stream", stream)):
        ours, theirs = _both(ctx, call)
        if isinstance(ours, Exception) or isinstance(theirs, Exception):
            holds(ctx, type(ours) is type(theirs), f"{label}: {redact(str(ours))[:200]}", repr(theirs)[:200],
                  redact(repr(ours))[:300])
            continue
        same(ctx, _summary(ours), _summary(theirs), f"{label}: the message differs from direct")


@check(id="client.sdk.retry-behaviour", faults={"drop-response-header=x-should-retry": "fail"},
       title="On upstream 429/529/500/400 (with and without x-should-retry), does the SDK make as many attempts and "
             "raise the same exception, with the upstream's request id, as direct?",
       requirement=RETRY_HEADERS, source=f"{WIRE_DOC} §2.4",
       evidence="per case: upstream attempts, exception class and request id, through the path and direct",
       failure_example="500 + x-should-retry false: 3 upstream attempts through the path, 1 direct")
def retry_behaviour(ctx: CheckContext) -> None:
    ctx.auth_headers("api-key")

    def one(case: tuple[int, str], direct: bool) -> dict[str, Any]:
        status, should = case
        cid = ctx.new_cid()
        text = f"x {make_directive(cid=cid, status=status, should_retry=should, retry_after=0)}"
        client = _sdk(ctx, direct=direct)
        try:
            client.messages.create(model=ctx.run.model, max_tokens=8, messages=[{"role": "user", "content": text}])
            raised, request_id = None, None
        except Exception as exc:  # the SDK's exception is the observation
            raised, request_id = type(exc).__name__, getattr(exc, "request_id", None)
        finally:
            client.close()
        entries = ctx.journal(cid) if ctx.run.observer.observable else []
        upstream_ids = [e.request_id for e in entries]
        return {"attempts": len(entries), "exception": raised, "request_id_known": request_id in upstream_ids}

    if not ctx.run.observer.observable:
        ctx.unsupported("upstream not observable: attempts cannot be counted")
    ctx.check_live()
    direct = ctx.shared_direct("sdk.retry", lambda: dict(zip(RETRY_CASES, parallel(lambda c: one(c, True),
                                                                                      RETRY_CASES), strict=True)))
    ours_by_case = dict(zip(RETRY_CASES, parallel(lambda c: one(c, False), RETRY_CASES), strict=True))
    table = {}
    for case in RETRY_CASES:
        ours, theirs = ours_by_case[case], direct[case]
        label = f"{case[0]} + x-should-retry {case[1]}"
        table[label] = {"path": ours, "direct": theirs}
        same(ctx, ours["attempts"], theirs["attempts"], f"{label}: {ours['attempts']} upstream attempts through "
             f"the path, {theirs['attempts']} direct")
        same(ctx, ours["exception"], theirs["exception"], f"{label}: the SDK raised {ours['exception']}, direct "
             f"{theirs['exception']}")
        holds(ctx, ours["request_id_known"], f"{label}: the exception's request_id is not the upstream's", True,
              ours["request_id_known"])
    ctx.note("retry_table", table)


@check(id="client.sdk.auth-styles", faults={"oauth-to-x-api-key": "fail"},
       title="Does the SDK authenticate through the path with each style SDKs have sent: x-api-key, an API key as "
             "Bearer, and auth_token with the oauth beta?",
       requirement="SDK 1.x sends X-Api-Key, SDK 2.x sends Authorization: Bearer for api_key, and auth_token is "
                   "always Bearer; a gateway must carry each.",
       source=f"{WIRE_DOC} §3.1; {CLAUDE_CODE_GATEWAY}",
       failure_example="oauth: AuthenticationError 'OAuth authentication is currently not supported.'")
def auth_styles(ctx: CheckContext) -> None:
    kinds = ["api-key", "api-key-bearer"] + (["oauth"] if "oauth" in ctx.path.features else [])
    for kind in kinds:
        client = _sdk(ctx, kind)
        try:
            message = client.messages.create(model=ctx.run.model, max_tokens=8, messages=_message(ctx, "hi"))
            ctx.expect(message.stop_reason is not None, f"{kind}: answered")
        except Exception as exc:  # the SDK's exception is the observation
            holds(ctx, False, f"{kind}: {type(exc).__name__} {redact(str(exc))[:160]}", "a message",
                  redact(repr(exc))[:300])
        finally:
            client.close()


@check(id="client.sdk.inside-sandbox", faults={"mutate-text": "fail"}, phase=Phase.SLOW,
       title="Run as the agent, inside its sandbox, does the SDK get the same message, stream, token count and model "
             "list as straight to the upstream?",
       requirement="An agent's SDK reaches the API the way the sandbox lets it: by name (DNS) or through HTTPS_PROXY "
                   "(a proxy's own login included), trusting the CA its users trust (SSL_CERT_FILE).",
       source="issue #32; shared/reference/design-anchors.md (Claude Code behind an egress gateway)",
       features=("sandbox", "messages", "streaming", "count_tokens", "models"),
       evidence="each call's outcome inside the sandbox and direct (text, stop reason, token count, model count)",
       failure_example="stream: inside the sandbox {'text': 'Hello FAULT'} (direct {'text': 'Hello'})", bound_s=90.0)
def inside_sandbox(ctx: CheckContext) -> None:
    from ..clients._python_sdk import run_python_sdk
    from ..paths import PathError

    connection, prefix = ctx.client_connection()
    sandbox = ctx.run.sandbox
    if sandbox is None or not prefix:
        ctx.unsupported("the agent does not run inside a sandbox of this path (an open network)")
    headers = ctx.auth_headers("api-key")
    if [name.lower() for name, _ in headers] != ["x-api-key"]:
        ctx.unsupported("the path needs headers beyond the API key, which an SDK inside a sandbox is not given here")
    key, prompt = headers[0][1], f"Say hi {make_directive(cid=ctx.new_cid())}"
    env = {"SSL_CERT_FILE": getattr(ctx.path, "ca_pem", None) or "", "HTTPS_PROXY": connection.proxy or ""}
    try:
        inside = run_python_sdk(None, connection.base_url, key, ctx.run.model, prompt,
                                extra_env={k: v for k, v in env.items() if v}, runner=sandbox.run_inside)
        direct = run_python_sdk(None, ctx.run.observer.base_url, ctx.direct_auth("api-key")[0][1], ctx.run.model,
                                prompt)
    except PathError as exc:
        raise HarnessError(f"the SDK could not be run: {exc}") from None
    ours, theirs = ({d["call"]: d for d in lines if "call" in d} for lines in (inside, direct))
    for call, answer in theirs.items():
        got = ours.get(call, {"ok": False, "error": "not reached"})
        holds(ctx, got.get("ok") is True, f"{call}: inside the sandbox {redact(str(got.get('error')))[:200]}",
              "answered", redact(str(got))[:300])
        if got.get("ok") and answer.get("ok"):
            same(ctx, got["summary"], answer["summary"], f"{call}: inside the sandbox {got['summary']} (direct "
                 f"{answer['summary']})")
    ctx.note("sdk_inside", inside)
    ctx.note("sdk_direct", direct)
