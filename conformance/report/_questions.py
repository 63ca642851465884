"""The questions a findings report answers, each from a group of checks."""

from __future__ import annotations

from typing import Any

from .._contract import load_contract
from .._verdict import VERDICTS, Verdict

CONTRACT_CHECKS = tuple(dict.fromkeys(c for clause in load_contract().clauses for c in clause.checks))
"""Every check the contract table maps a clause to (fixtures/contract/claude-code-gateway.yaml)."""

QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("OAuth accepted?", ("auth.oauth-accepted", "auth.oauth-beta-once", "auth.header-kind-preserved")),
    ("Credentials handled right?", ("auth.api-key-accepted", "auth.invalid-credential-401",
                                    "auth.no-proxy-credential-upstream")),
    ("Error envelope intact?", ("errors.status-preserved", "errors.envelope-valid",
                                "errors.type-and-message-preserved", "errors.retry-headers-preserved",
                                "errors.stream-request-gets-json", "errors.body-identical")),
    ("request_id exposed?", ("request_id.header-equal", "request_id.body-equal")),
    ("Cache usage preserved?", ("cache.control-forwarded", "cache.usage-preserved", "cache.usage-preserved-streaming")),
    ("SSE faithful?", ("sse.content-type", "sse.event-sequence", "sse.data-json-equal", "sse.not-buffered",
                       "sse.long-stream-not-cut", "sse.idle-gap-survives", "sse.midstream-error-delivered",
                       "sse.bytes-identical", "sse.padding-and-ping", "sse.per-event-delay")),
    ("Slow answers survive?", ("errors.slow-response-not-cut",)),
    ("tool_use round-trip intact?", ("tools.definitions-intact", "tools.tool-use-intact",
                                     "tools.streamed-input-reassembles", "tools.parallel-tool-use",
                                     "tools.result-roundtrip")),
    ("Thinking signatures intact?", ("thinking.blocks-identical", "thinking.streamed-signature-identical",
                                     "thinking.replay-accepted", "thinking.signature-only-kept",
                                     "thinking.interleaved-kept")),
    ("Stop reasons kept?", ("stop.sequence-kept", "server-tools.pause-turn-continues")),
    ("Server tools intact?", ("server-tools.blocks-intact", "server-tools.streamed-intact",
                              "server-tools.pause-turn-continues")),
    ("Recorded API traffic comes back as recorded?", ("replay.recorded-exchanges",)),
    ("Does the path meet Claude Code's gateway contract?", CONTRACT_CHECKS),
    ("Request body unchanged?", ("request.body-unchanged", "request.version-and-beta-once", "request.beta-query-kept",
                                 "request.metadata-kept", "request.no-duplicate-headers", "request.realistic-payload",
                                 "request.upstream-sni")),
    ("Other endpoints reachable?", ("endpoints.count-tokens", "endpoints.models")),
    ("Real clients behave as direct?", ("client.sdk.create-and-stream", "client.sdk.retry-behaviour",
                                        "client.sdk.auth-styles", "client.ts-sdk.create-and-stream",
                                        "client.ts-sdk.tool-round-trip", "client.ts-sdk.retry-behaviour",
                                        "client.ts-sdk.auth-styles", "client.ts-sdk.midstream-error",
                                        "client.claude-code.plain-turn",
                                        "client.claude-code.stream-unbuffered", "client.claude-code.tool-turn",
                                        "client.claude-code.oauth-turn", "client.claude-code.error-text",
                                        "client.claude-code.recovery-wording",
                                        "client.claude-code.midstream-fallback")),
    ("Allowlist enforced, direct egress blocked?", ("egress.allowlist-sni", "egress.allowlist-connect",
                                                   "egress.direct-blocked", "egress.only-allowed-hosts",
                                                   "egress.claude-code-auxiliary")),
    ("Can cost accounting come from this path?", ("accounting.tokens-recorded", "accounting.cache-tokens-recorded",
                                                  "accounting.server-tool-usage-recorded",
                                                  "accounting.error-and-cut-recorded",
                                                  "accounting.cost-uses-cache-prices")),
    ("Headers and encoding as the upstream's?", ("headers.content-encoding-kept", "headers.response-diff",
                                                 "headers.request-diff")),
]


def answer(results: list[dict[str, Any]], checks: tuple[str, ...]) -> tuple[str, str]:
    """``(symbol, few words)`` for one question on one target, from its checks' verdicts."""
    mine = [r for r in results if r["check"] in checks]
    failed = [r for r in mine if r["verdict"] == "fail"]
    errored = [r for r in mine if r["verdict"] == "error"]
    nonstrict = [r for r in mine if r["verdict"] == "pass-nonstrict"]
    answered = [r for r in mine if r["verdict"] not in ("unsupported", "info")]
    if failed:
        return VERDICTS[Verdict.FAIL].symbol, f"{failed[0]['check']}: {failed[0]['message'][:90]}"
    if errored:
        return VERDICTS[Verdict.ERROR].symbol, f"not answered: {errored[0]['message'][:90]}"
    if not answered and any(r["verdict"] == "info" for r in mine):
        return VERDICTS[Verdict.INFO].symbol, "observations only (see the evidence)"
    if not answered:
        return VERDICTS[Verdict.UNSUPPORTED].symbol, "not applicable to this path"
    if nonstrict:
        return VERDICTS[Verdict.PASS].symbol, f"yes, but {nonstrict[0]['check']}: {nonstrict[0]['message'][:70]}"
    return VERDICTS[Verdict.PASS].symbol, f"yes ({len(answered)} checks)"
