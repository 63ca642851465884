"""client.claude-code.* — does Claude Code itself work through the path as it does straight to the upstream?

Claude Code runs as an agent would run it (``_claude_code``: its own npm install, print mode, stream-json, a fresh
home per run); each check compares a run through the path with the same run direct.
"""

from __future__ import annotations

from typing import Any

from ..core._redact import redact
from ..core._threads import parallel
from ..core._timing import added_ms, judge_added_delay, median
from ..upstream import make_directive
from ._client_runs import claude_run, first_party, turn_ok
from ._context import CheckContext
from ._registry import Phase, check
from ._requirements import CLAUDE_CODE_GATEWAY, OAUTH, WIRE_DOC
from ._verify import holds, same

CLAUDE_FEATURES = ("messages", "streaming", "claude-code")
# A Claude Code run is bounded at 40 s (_claude_code.run_claude) and a check makes up to four (midstream: two through
# the path, two direct), some of them queued behind other targets' runs: 60 s would be shorter than its own parts.
CLAUDE_CHECK_BOUND_S = 120.0
# On the median added delay per text delta against direct, like sse.per-event-delay (its module says why a median,
# and why about 20 ms): Claude Code's own stdout jitter sits in both runs and mostly cancels.
CLAUDE_ADDED_BOUND_MS = 25.0


def _upstream_text(entries: list[Any]) -> str:
    from ..core._sse import decode_events

    text = ""
    for event in decode_events(entries[-1].response_body):
        if event.name == "content_block_delta":
            delta = event.json()["delta"]
            text += delta.get("text", "")
    return text


def _plain(ctx: CheckContext, direct: bool = False) -> tuple[str, Any]:
    """One paced plain turn per target (and one direct per run), shared by the plain-turn and streaming checks."""

    def make() -> tuple[str, Any]:
        return _fresh_plain(ctx, direct)

    return ctx.shared_direct("claude.plain", make) if direct else ctx.shared("claude.plain", make)


def _fresh_plain(ctx: CheckContext, direct: bool) -> tuple[str, Any]:
    """A plain paced turn of its own (not the shared one), through the path or direct."""
    cid = ctx.new_cid()
    return cid, claude_run(ctx, f"Say hi {make_directive(cid=cid, deltas=20, interval=100)}", direct=direct)


def _delta_lags(ctx: CheckContext, cid: str, run: Any) -> tuple[list[float], int]:
    """Per text delta: Claude Code's stream-json arrival minus the upstream's send time (s); and deltas sent."""
    from ..core._sse import decode_timed

    entries = ctx.journal(cid)
    if not entries:
        return [], 0
    sent = [e.arrived_at for e in decode_timed(entries[-1].decoded_chunks)
            if e.name == "content_block_delta" and '"text_delta"' in e.data]
    got = [at for at, _ in run.text_deltas()]
    return [round(b - a, 4) for a, b in zip(sent, got, strict=False) if a], len(sent)


@check(id="client.claude-code.plain-turn", faults={"mutate-text": "fail"}, phase=Phase.SLOW,
       title="Does a plain Claude Code turn complete through the path with the upstream's answer?",
       requirement="A gateway for Claude Code accepts POST /v1/messages and returns the model's answer unchanged.",
       source=CLAUDE_CODE_GATEWAY, features=CLAUDE_FEATURES,
       evidence="Claude Code's exit code and result, and the answer the upstream streamed",
       failure_example="plain turn: Claude Code ended with code 1: API Error: 401 …", bound_s=CLAUDE_CHECK_BOUND_S)
def claude_plain_turn(ctx: CheckContext) -> None:
    cid, run = _plain(ctx)
    if not turn_ok(ctx, run, "plain turn"):
        return
    entries = ctx.journal(cid)
    if ctx.expect(bool(entries), "the upstream received no request from Claude Code"):
        answer = _upstream_text(entries)
        same(ctx, run.result.get("result"), answer, "Claude Code's answer is not the upstream's")


@check(id="client.claude-code.stream-unbuffered", faults={"buffer-stream": "fail", "delay-per-event=50": "fail"},
       phase=Phase.CLIENT_TIMING,
       title="Do Claude Code's partial messages arrive as the upstream sends the events (no buffering)?",
       requirement="Stream responses: pass server-sent events through as they arrive instead of buffering.",
       source=CLAUDE_CODE_GATEWAY, features=CLAUDE_FEATURES,
       evidence="per text delta: Claude Code's stream-json arrival minus the upstream's send time, through the path "
                "and direct; the added delay of each (ms)",
       failure_example="half the text deltas reached Claude Code more than 104 ms later than direct (bound 25 "
                       "ms; worst 212 ms)",
       bound_s=CLAUDE_CHECK_BOUND_S)
def claude_stream_unbuffered(ctx: CheckContext) -> None:
    """Judged on the median added delay per text delta against a direct Claude Code run: Claude Code's own
    stream handling is in both, the path's cost is the difference (see sse_timing for the bound). Over the bound,
    one more pair of runs is made and the better judged (``core._timing``): a single stall held half of one
    20-delta stream once, a path that buffers holds both."""
    cid, run = _plain(ctx)
    if not turn_ok(ctx, run, "plain turn"):
        return
    lags, sent = _delta_lags(ctx, cid, run)
    holds(ctx, sent > 0 and len(lags) >= sent, f"{len(lags)} text deltas reached Claude Code, upstream sent {sent}",
          sent, len(lags))
    if not lags:
        return
    direct_lags_first: list[float] = []

    def measure(attempt: int) -> list[float]:
        nonlocal direct_lags_first
        if attempt == 0:
            ours = lags
            direct_cid, direct_run = _plain(ctx, direct=True)
        else:  # a fresh pair, side by side as the first one was
            (again_cid, again), (direct_cid, direct_run) = parallel(lambda d: _fresh_plain(ctx, d), [False, True])
            ours = _delta_lags(ctx, again_cid, again)[0]
        theirs = _delta_lags(ctx, direct_cid, direct_run)[0]
        if attempt == 0:
            direct_lags_first = theirs
        return added_ms(ours, theirs)

    verdict = judge_added_delay(measure, CLAUDE_ADDED_BOUND_MS)
    added, middle = verdict.added, verdict.median
    ctx.note("timing", {"deltas": len(lags), "added_ms": {"p50": middle, "max": max(added, default=0.0),
                                                          "p50_each": [median(m) for m in verdict.measured]},
                        "measurements": len(verdict.measured),
                        "path_lag_ms_p50": round(median(lags) * 1000, 1),
                        "direct_lag_ms_p50": round(median(direct_lags_first) * 1000, 1) if direct_lags_first
                        else None})
    ctx.note("added_delay_ms_series", added)
    holds(ctx, verdict.ok, f"half the text deltas reached Claude Code more than {middle:.0f} ms later than direct "
          f"(bound {CLAUDE_ADDED_BOUND_MS:.0f} ms; worst {max(added, default=0.0):.0f} ms; "
          f"{len(verdict.measured)} measurement(s))", f"median added <= {CLAUDE_ADDED_BOUND_MS} ms", middle)


@check(id="client.claude-code.tool-turn", faults={"rewrite-tool-id": "fail"}, phase=Phase.SLOW,
       title="Does a Claude Code tool-use turn complete, with its tool_result reaching the upstream as sent?",
       requirement="Forward headers and body unchanged, in both directions (tool_use out, tool_result back).",
       source=CLAUDE_CODE_GATEWAY, features=CLAUDE_FEATURES,
       evidence="the tool_use the upstream sent, the tool_result it received next, Claude Code's final result",
       failure_example="the tool_result that reached the upstream answers toolu_… but the upstream asked for toolu_…",
       bound_s=CLAUDE_CHECK_BOUND_S)
def claude_tool_turn(ctx: CheckContext) -> None:
    import json as _json

    from ..core._sse import decode_events

    cid = ctx.new_cid()
    run = claude_run(ctx, f"Read the notes {make_directive(cid=cid, tool='Read')}")
    if not turn_ok(ctx, run, "tool turn"):
        return
    entries = ctx.journal(cid)
    if not holds(ctx, len(entries) >= 2, f"the upstream saw {len(entries)} request(s), expected the tool_use turn "
                 "and the tool_result turn", ">= 2", len(entries)):
        return
    asked = [e.json()["content_block"]["id"] for e in decode_events(entries[0].response_body)
             if e.name == "content_block_start" and e.json()["content_block"]["type"] == "tool_use"]
    body = _json.loads(entries[1].body)
    answered = [b.get("tool_use_id") for m in body.get("messages", [])[-1:] for b in m.get("content", [])
                if isinstance(b, dict) and b.get("type") == "tool_result"]
    holds(ctx, bool(asked) and answered == asked, "the tool_result that reached the upstream does not answer the "
          "tool_use it sent", asked, answered)
    same(ctx, run.result.get("result"), _upstream_text(entries), "Claude Code's final answer is not the upstream's")


@check(id="client.claude-code.oauth-turn", faults={"oauth-to-x-api-key": "fail"}, phase=Phase.SLOW,
       title="With an OAuth token (CLAUDE_CODE_OAUTH_TOKEN), does a Claude Code turn complete through the path?",
       requirement=OAUTH, source=f"{WIRE_DOC} §3", features=CLAUDE_FEATURES + ("oauth",),
       failure_example="oauth turn: Claude Code ended with code 1: API Error: 401 OAuth authentication is "
                       "currently not supported.",
       bound_s=CLAUDE_CHECK_BOUND_S)
def claude_oauth_turn(ctx: CheckContext) -> None:
    cid = ctx.new_cid()
    run = claude_run(ctx, f"Say hi {make_directive(cid=cid)}", kind="oauth")
    turn_ok(ctx, run, "oauth turn")


def _error_turns(ctx: CheckContext, key: str, **directive: Any) -> tuple[tuple[int, str], tuple[int, str]]:
    """``(upstream attempts, Claude Code's result)`` of one failing turn through the path, and direct (run once per
    session and shared by every target)."""
    def attempt(direct: bool) -> tuple[int, str]:
        cid = ctx.new_cid()
        run = claude_run(ctx, f"Say hi {make_directive(cid=cid, **directive)}", direct=direct)
        return len(ctx.journal(cid)), str(run.result.get("result", ""))

    return attempt(False), ctx.shared_direct(key, lambda: attempt(True))


@check(id="client.claude-code.error-text", faults={"wrap-errors": "fail"}, phase=Phase.SLOW,
       title="On an upstream 400, does Claude Code show the upstream's error text, after as many attempts as direct?",
       requirement="Return upstream errors unmodified: Claude Code's automatic recovery matches on error wording.",
       source=CLAUDE_CODE_GATEWAY, features=CLAUDE_FEATURES,
       evidence="Claude Code's error result and the upstream attempts, through the path and direct",
       failure_example="Claude Code showed 'API Error: 400 litellm.BadRequestError: …', not the upstream's message",
       bound_s=CLAUDE_CHECK_BOUND_S)
def claude_error_text(ctx: CheckContext) -> None:
    ours, theirs = _error_turns(ctx, "claude.error-text", status=400)
    counts, shown = [ours[0], theirs[0]], [ours[1], theirs[1]]
    message = "messages.0: Input does not match the expected shape."
    holds(ctx, message in shown[1], "direct, Claude Code did not show the upstream's message (harness problem?)",
          message, redact(shown[1])[:300])
    holds(ctx, shown[0] == shown[1], "Claude Code showed a different error than direct", shown[1][:300],
          redact(shown[0])[:300])
    ctx.note("upstream_attempts", {"path": counts[0], "direct": counts[1]})
    if first_party(ctx):
        return
    same(ctx, counts[0], counts[1], f"{counts[0]} upstream attempts through the path, {counts[1]} direct")


@check(id="client.claude-code.recovery-wording", faults={"generic-error-message": "fail"}, phase=Phase.SLOW,
       title='On "prompt is too long: …", does Claude Code react through the path as it does direct (same text, same '
             "upstream attempts)?",
       requirement="Relay a 400 in Anthropic's own envelope (e.g. prompt is too long: …) unchanged: the client's "
                   "recovery (auto-compact etc.) keys on it.",
       source=CLAUDE_CODE_GATEWAY, features=CLAUDE_FEATURES,
       evidence="Claude Code's result and the upstream attempts, through the path and direct",
       failure_example="Claude Code showed 'API Error: 400 The upstream service returned an error.', not "
                       "what it shows direct",
       bound_s=CLAUDE_CHECK_BOUND_S)
def claude_recovery_wording(ctx: CheckContext) -> None:
    """Claude Code matches this wording to start its recovery; through a path that rewords it, the same turn ends
    in a different message (and, where recovery would run, with a different number of requests). Claude Code
    2.1.332 looks for the phrase anywhere in the message, so a path that wraps the upstream's JSON inside its own
    message (LiteLLM's unified route) still passes here while contract.recovery-error-wording, which holds the
    exact wording, fails; a path that replaces the message fails both."""
    ours, theirs = _error_turns(ctx, "claude.recovery-wording", wording="prompt_too_long")
    ctx.note("upstream_attempts", {"path": ours[0], "direct": theirs[0]})
    holds(ctx, ours[1] == theirs[1], "Claude Code showed a different result than direct", theirs[1][:300],
          redact(ours[1])[:300])
    if not first_party(ctx):
        same(ctx, ours[0], theirs[0], f"{ours[0]} upstream attempts through the path, {theirs[0]} direct")


@check(id="client.claude-code.midstream-fallback", faults={"drop-sse-errors": "fail"}, phase=Phase.SLOW,
       title="On a mid-stream error, does Claude Code fall back (or not) to a non-streaming request exactly as "
             "direct, with and without CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK=1?",
       requirement="Errors after the 200 arrive as event: error; a path must deliver them so the client's own "
                   "recovery (retry, non-streaming fallback) runs as it would without the path.",
       source=CLAUDE_CODE_GATEWAY, features=CLAUDE_FEATURES,
       evidence="per setting: the streaming and non-streaming requests the upstream received, through "
                "the path and direct",
       failure_example="fallback allowed: the upstream saw 1 streaming + 0 non-streaming requests, direct 2 + 1",
       bound_s=CLAUDE_CHECK_BOUND_S)
def claude_midstream_fallback(ctx: CheckContext) -> None:
    """Why the counts are what they are (measured on Claude Code 2.1.332 against the reference upstream, and read
    from its stream-failure policy): an ``overloaded_error`` event after two text deltas — a text block started,
    none finished — is retried as an overload, streaming, with back-off (about 0.6 s, then 1.2 s), and after the
    third streaming attempt Claude Code falls back to one non-streaming request: 3 + 1, or 3 + 0 with the fallback
    disabled, identically on every run (12 runs with the fallback allowed and 5 with it disabled, idle and with
    both cores busy). The outcome changes with the
    *progress* the stream made before the error: had a content block finished, Claude Code keeps the partial
    answer at once (no retry, no fallback); had no event arrived within its first-byte window, it retries as a
    connection failure. So a path that buffers, delays or reorders the stream moves the error to another progress
    point and changes the counts — which is what this check is for — while a run cut off by a time bound (the old
    40 s kill under slot contention) used to look like "an immediate answer". The direct baseline is run once per
    run and shared by every target, and every run uses the same CLAUDE_CODE_MAX_RETRIES, so the counts compare
    behaviour, not back-off timing.
    """
    import json as _json

    def requests(direct: bool, extra: dict[str, str]) -> list[int]:
        cid = ctx.new_cid()
        claude_run(ctx, f"Say hi {make_directive(cid=cid, midstream='overloaded_error', after=2)}", direct=direct,
                extra_env=extra)
        entries = ctx.journal(cid)
        streaming = sum(1 for e in entries if _json.loads(e.body or b"{}").get("stream") is True)
        return [streaming, len(entries) - streaming]

    settings = (("fallback allowed", {}), ("fallback disabled", {"CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK": "1"}))

    def both(setting: tuple[str, dict[str, str]]) -> list[list[int]]:
        name, extra = setting
        return [requests(False, extra), ctx.shared_direct(f"claude.midstream.{name}", lambda: requests(True, extra))]

    observed: dict[str, dict[str, list[int]]] = {}
    # The two settings side by side: each run mostly sleeps through Claude Code's back-off.
    for (setting, _), counts in zip(settings, parallel(both, settings), strict=True):
        observed[setting] = {"path": counts[0], "direct": counts[1]}
        same(ctx, counts[0], counts[1], f"{setting}: the upstream saw {counts[0][0]} streaming + {counts[0][1]} "
             f"non-streaming requests through the path, direct {counts[1][0]} + {counts[1][1]}")
    ctx.note("requests_by_setting", observed)
