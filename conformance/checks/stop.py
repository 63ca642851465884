"""stop.* — does the path keep why an answer stopped (a stop sequence and which one), in JSON and in the stream?"""

from __future__ import annotations

import json
from typing import Any

from ..core._http import Exchange
from ..core._sse import assemble_message, decode_events
from ._context import CheckContext, json_or_none
from ._registry import check
from ._requirements import API_STOP_REASONS, STOP_SEQUENCE
from ._verify import holds, same

STOPS = ["</answer>", "\n\nHuman:"]


def _stop(data: bytes, stream: bool) -> tuple[Any, Any]:
    message = assemble_message(decode_events(data)) if stream else json_or_none(data) or {}
    return message.get("stop_reason"), message.get("stop_sequence")


@check(id="stop.sequence-kept", faults={"normalise-stop-reason": "fail"},
       title="Do stop_sequences reach the upstream, and do stop_reason stop_sequence and the sequence come back?",
       requirement=STOP_SEQUENCE, source=API_STOP_REASONS,
       failure_example="stream: stop_reason/stop_sequence differ from the upstream's: ('end_turn', None)")
def sequence_kept(ctx: CheckContext) -> None:
    for stream in (False, True):
        label = "stream" if stream else "json"
        body = {**ctx.body("Answer in tags.", stream=stream), "stop_sequences": list(STOPS)}
        exchange: Exchange = ctx.reached(ctx.send(body, label=label))
        entry = ctx.received(exchange)
        sent = json_or_none(entry.body) or {}
        same(ctx, sent.get("stop_sequences"), STOPS, f"{label}: stop_sequences changed on the way")
        theirs = _stop(entry.response_body or b"", stream)
        ours = _stop(exchange.body, stream)
        holds(ctx, theirs[0] == "stop_sequence" and ours == theirs,
              f"{label}: stop_reason/stop_sequence differ from the upstream's: {ours}", theirs, ours)
        ctx.note(f"{label}_stop", json.dumps(ours))
