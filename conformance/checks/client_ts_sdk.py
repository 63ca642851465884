"""client.ts-sdk.* — does the official TypeScript SDK, the agents' own runtime client, behave through the path as
it does straight to the upstream?

The SDK runs in node (``_ts_sdk``), configured as an agent runtime configures it: an OAuth token as ``authToken``
with the oauth beta, any other credential as ``apiKey`` (which this SDK sends as ``Authorization: Bearer``). Each
check makes the same calls through the path and direct and compares what the SDK made of them.
"""

from __future__ import annotations

import json
from typing import Any

from ..core._redact import redact
from ..upstream import make_directive
from ._client_runs import prepared_client
from ._context import CheckContext
from ._registry import Phase, check
from ._requirements import CLAUDE_CODE_GATEWAY, OAUTH, RETRY_HEADERS, WIRE_DOC
from ._verify import holds, same

TS_FEATURES = ("messages", "streaming")
# Two node processes (path, direct), each making up to six calls with retries.
TS_CHECK_BOUND_S = 90.0
# The retry run makes six calls and up to eighteen attempts, two seconds of them waiting on retry-after: about 5 s
# alone, past 40 s through a gateway inside the 19-target matrix load (its node process was cut mid-case).
RETRY_RUN_S = 80.0
# (status, x-should-retry, retry-after): the SDK's policy differs in each (reference doc §2.4); retry-after 0 and
# an absent header both leave the SDK its own (shortened) back-off, 1 makes it wait what the upstream asked.
RETRY_CASES = ((429, "none", "0"), (429, "none", "none"), (429, "false", "0"), (529, "true", "1"),
               (500, "false", "0"), (400, "true", "0"))
TOOL = {"name": "lookup", "description": "Look it up.",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}


def _ts(ctx: CheckContext, calls: list[dict[str, Any]], *, kind: str = "api-key-bearer",
        direct: bool = False, run_s: float = 40.0) -> list[dict[str, Any]]:
    """Make ``calls`` with one SDK client through the path (or direct); ``unsupported`` without node or the SDK."""
    from ..clients._ts_sdk import installed_ts_sdk, run_ts_sdk

    settings = ctx.run.settings
    modules, connection, prefix, headers = prepared_client(
        ctx, "TypeScript SDK", lambda: installed_ts_sdk(settings.ts_sdk_version, settings.cache_dir), kind, direct)
    answers = run_ts_sdk(modules, connection, headers, calls, ca_pem=None if direct else getattr(ctx.path, "ca_pem",
                                                                                                   None),
                         prefix=prefix, should_stop=lambda: ctx.cancelled.is_set(), queued=ctx.bound_paused,
                         timeout=run_s)
    ctx.check_live()
    ctx.note(f"ts_sdk{'_direct' if direct else ''}", redact_answers(answers))
    return answers


def redact_answers(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the evidence keeps of each answer: the outcome, the error and the message's shape, redacted."""
    kept = []
    for answer in answers:
        message = answer.get("message") or {}
        kept.append({"ok": answer.get("ok"), "error": answer.get("error"), "events": len(answer.get("events") or []),
                     "stop_reason": message.get("stop_reason"),
                     "content_types": [b.get("type") for b in message.get("content") or []]})
    return [{k: redact(v) if isinstance(v, str) else v for k, v in a.items()} for a in kept]


def summary(answer: dict[str, Any]) -> dict[str, Any]:
    """What must agree between the path and direct for one answer (ids and volatile fields aside)."""
    if not answer.get("ok"):
        error = answer.get("error") or {}
        return {"error": error.get("class"), "status": error.get("status"), "type": error.get("type")}
    message = answer["message"]
    usage = message.get("usage") or {}
    return {"content": [{k: v for k, v in block.items() if k != "id"} for block in message.get("content") or []],
            "stop_reason": message.get("stop_reason"), "model": message.get("model"),
            "usage": {k: usage.get(k) for k in ("input_tokens", "output_tokens", "cache_read_input_tokens")}}


def _text(ctx: CheckContext, words: str, **directive: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"{words} {make_directive(cid=ctx.new_cid(), **directive)}"}]


def _compare(ctx: CheckContext, labels: list[str], ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    for label, mine, direct in zip(labels, ours, theirs, strict=True):
        holds(ctx, summary(mine) == summary(direct), f"{label}: what the SDK returned differs from direct",
              summary(direct), redact(str(summary(mine)))[:600])


@check(id="client.ts-sdk.create-and-stream", faults={"mutate-text": "fail"}, phase=Phase.SLOW,
       title="Do the TypeScript SDK's messages.create and messages.stream(…).finalMessage() give the same "
             "message as direct?",
       requirement="The SDK's parsed message is the same through the gateway as without it (volatile ids aside).",
       source=f"{WIRE_DOC} §4.4", features=TS_FEATURES,
       evidence="per call: outcome, stop reason and block types through the path and direct",
       failure_example="messages.stream: the text differs from direct", bound_s=TS_CHECK_BOUND_S)
def create_and_stream(ctx: CheckContext) -> None:
    ctx.auth_headers("api-key-bearer")

    def calls() -> list[dict[str, Any]]:
        base = {"model": ctx.run.model, "max_tokens": 64, "tools": [TOOL]}
        return [{"op": "create", "params": {**base, "messages": _text(ctx, "Hi", deltas=6)}},
                {"op": "stream", "params": {**base, "messages": _text(ctx, "Hi", deltas=6, padding="nonzero")}},
                {"op": "stream", "params": {**base, "messages": _text(ctx, "Use it", tool="lookup")}}]

    labels = ["messages.create", "messages.stream (text)", "messages.stream (tool_use)"]
    _compare(ctx, labels, _ts(ctx, calls()), ctx.shared_direct("ts-sdk.create", lambda: _ts(ctx, calls(),
                                                                                             direct=True)))


@check(id="client.ts-sdk.tool-round-trip", faults={"empty-tool-input": "fail"}, phase=Phase.SLOW,
       title="Does a tool call round-trip through the path with the TypeScript SDK (tool_use out, tool_result back, "
             "the final answer) as it does direct?",
       requirement="Tool use blocks and tool results pass unchanged in both directions, so the agent's tool loop "
                   "works through the gateway.",
       source=f"{WIRE_DOC} §5", features=TS_FEATURES,
       evidence="the tool_use the SDK got, the final message, through the path and direct",
       failure_example="tool_use input {} through the path, {'q': …} direct", bound_s=TS_CHECK_BOUND_S)
def tool_round_trip(ctx: CheckContext) -> None:
    ctx.auth_headers("api-key-bearer")

    def calls() -> list[dict[str, Any]]:
        return [{"op": "round-trip", "params": {"model": ctx.run.model, "max_tokens": 64, "tools": [TOOL],
                                                "messages": _text(ctx, "Use it", tool="lookup")},
                 "followup": f"Thanks. {make_directive(cid=ctx.new_cid(), deltas=4)}"}]

    ours = _ts(ctx, calls())[0]
    theirs = ctx.shared_direct("ts-sdk.round-trip", lambda: _ts(ctx, calls(), direct=True))[0]
    for label, key in (("the tool call", "first"), ("the answer after the tool result", "message")):
        mine = {**ours, "message": _own_ids(ours, key)} if ours.get("ok") else ours
        direct = {**theirs, "message": _own_ids(theirs, key)} if theirs.get("ok") else theirs
        _compare(ctx, [label], [mine], [direct])
    if ours.get("ok"):
        same(ctx, ours["first"].get("stop_reason"), "tool_use", "the first turn did not end in tool_use")


def _own_ids(answer: dict[str, Any], key: str) -> dict[str, Any]:
    """``answer[key]`` with the ids of the first turn's tool calls named by their place: the upstream's answer
    quotes the tool_use id its tool_result came back with, which differs between two runs but must be the run's own."""
    text = json.dumps(answer[key])
    for i, block in enumerate(b for b in answer["first"].get("content") or [] if b.get("type") == "tool_use"):
        text = text.replace(block["id"], f"<tool_use {i}>")
    return json.loads(text)


@check(id="client.ts-sdk.retry-behaviour", faults={"drop-response-header=x-should-retry": "fail"}, phase=Phase.SLOW,
       title="On upstream 429/529/500/400, with and without x-should-retry and retry-after, does the TypeScript SDK "
             "make as many attempts and raise the same error class, status and request id as direct?",
       requirement=RETRY_HEADERS, source=f"{WIRE_DOC} §2.4", features=TS_FEATURES,
       evidence="per case: upstream attempts, error class, status and whether the request id is the upstream's",
       failure_example="429 + x-should-retry false: 3 upstream attempts through the path, 1 direct",
       bound_s=2 * RETRY_RUN_S + 10)
def retry_behaviour(ctx: CheckContext) -> None:
    ctx.auth_headers("api-key-bearer")
    if not ctx.run.observer.observable:
        ctx.unsupported("upstream not observable: attempts cannot be counted")

    def observe(direct: bool) -> dict[str, Any]:
        cids = [ctx.new_cid() for _ in RETRY_CASES]
        calls = [{"op": "create", "params": {"model": ctx.run.model, "max_tokens": 8, "messages": [{
            "role": "user", "content": f"x {make_directive(cid=cid, status=s, should_retry=r, retry_after=a)}"}]}}
            for cid, (s, r, a) in zip(cids, RETRY_CASES, strict=True)]
        answers = _ts(ctx, calls, direct=direct, run_s=RETRY_RUN_S)
        table = {}
        for cid, case, answer in zip(cids, RETRY_CASES, answers, strict=True):
            entries = ctx.journal(cid)
            error = answer.get("error") or {}
            table[_label(case)] = {"attempts": len(entries), "class": error.get("class"),
                                   "status": error.get("status"),
                                   "request_id_known": error.get("request_id") in [e.request_id for e in entries]}
        return table

    direct = ctx.shared_direct("ts-sdk.retry", lambda: observe(True))
    ours = observe(False)
    for case in RETRY_CASES:
        label, mine, theirs = _label(case), ours[_label(case)], direct[_label(case)]
        for key in ("attempts", "class", "status"):
            same(ctx, mine[key], theirs[key], f"{label}: {key} {mine[key]} through the path, {theirs[key]} direct")
        holds(ctx, mine["request_id_known"], f"{label}: the error's request id is not the upstream's", True, False)
    ctx.note("retry_table", {"path": ours, "direct": direct})


def _label(case: tuple[int, str, str]) -> str:
    return f"{case[0]} + x-should-retry {case[1]} + retry-after {case[2]}"


@check(id="client.ts-sdk.auth-styles", faults={"oauth-to-x-api-key": "fail"}, phase=Phase.SLOW,
       title="Does the TypeScript SDK authenticate through the path with an API key (sent as Bearer) and with an "
             "OAuth token (authToken plus the oauth beta, as the agents' runtime sends it)?",
       requirement=f"{OAUTH} The TypeScript SDK sends apiKey as Authorization: Bearer; a gateway must carry both.",
       source=f"{WIRE_DOC} §3.1; {CLAUDE_CODE_GATEWAY}", features=TS_FEATURES,
       failure_example="oauth token: AuthenticationError 401 'OAuth authentication is currently not supported.'",
       bound_s=TS_CHECK_BOUND_S)
def auth_styles(ctx: CheckContext) -> None:
    kinds = {"api key": "api-key-bearer"}
    if "oauth" in ctx.path.features:
        kinds["oauth token"] = "oauth"
    for label, kind in kinds.items():
        answer = _ts(ctx, [{"op": "create", "params": {"model": ctx.run.model, "max_tokens": 8,
                                                       "messages": _text(ctx, "hi")}}], kind=kind)[0]
        error = answer.get("error") or {}
        holds(ctx, bool(answer.get("ok")), f"{label}: {error.get('class')} {error.get('status')} "
              f"{redact(str(error.get('message')))[:160]}" if not answer.get("ok") else f"{label}: answered",
              "a message", redact(str(error))[:300] if error else "a message")


@check(id="client.ts-sdk.midstream-error", faults={"drop-sse-errors": "fail"}, phase=Phase.SLOW,
       title="Does an error event in the middle of a stream reach the TypeScript SDK as the same error as direct?",
       requirement="An SSE error event is delivered to the client, which raises it with its type (overloaded_error) "
                   "instead of a truncated message or a parse failure.",
       source=f"{WIRE_DOC} §4.3", features=TS_FEATURES,
       evidence="the error class and type the SDK raised, and the events it saw, through the path and direct",
       failure_example="AnthropicError 'stream ended without producing a Message' through the path, APIError "
                       "overloaded_error direct",
       bound_s=TS_CHECK_BOUND_S)
def midstream_error(ctx: CheckContext) -> None:
    ctx.auth_headers("api-key-bearer")

    def calls() -> list[dict[str, Any]]:
        return [{"op": "stream", "params": {"model": ctx.run.model, "max_tokens": 64, "messages": _text(
            ctx, "Hi", deltas=5, midstream="overloaded_error", after=2)}}]

    ours = _ts(ctx, calls())[0]
    theirs = ctx.shared_direct("ts-sdk.midstream", lambda: _ts(ctx, calls(), direct=True))[0]
    _compare(ctx, ["the stream's error"], [ours], [theirs])
    holds(ctx, not ours.get("ok"), "the SDK returned a message from a stream the upstream ended with an error",
          "an error", "a message")
