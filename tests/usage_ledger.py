"""The fault proxy's own usage accounting, standing in for a gateway's callback (LiteLLM's CustomLogger): one
record per Messages request, written from the response as the client got it (after the response faults), in the
shape fixtures/litellm/usage_recorder.py writes. Its ``ledger-*`` faults break the accounting itself."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from conformance.core._sse import SseDecoder

from .faults import edit_event, edit_json_body

CID = re.compile(rb"\[\[ec[^\]]*?\bcid=([A-Za-z0-9._:\-]+)")
# Per million tokens, as the model cost maps have claude-haiku-4-5: input, output; cache reads 0.1x, writes 1.25x
# (5m) and 2x (1h) the input price.
INPUT_PRICE, OUTPUT_PRICE = 1.0, 5.0


class UsageLedger:
    """The records, thread-safe; ``record`` is called once per finished Messages response."""

    def __init__(self, faults: dict[str, str]) -> None:
        self.faults = faults
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, request_body: bytes, status: int, body: bytes, stream: bool) -> None:
        """Account one response (``body`` decoded, as the upstream sent it; the faults are applied here)."""
        found = CID.findall(request_body)
        if status >= 400:
            if "ledger-skips-errors" not in self.faults:
                self._add({"event": "failure", "cid": found[-1].decode() if found else None, "usage": None})
            return
        usage = self._stream_usage(body) if stream else self._json_usage(body)
        self._add({"event": "success", "cid": found[-1].decode() if found else None, "stream": stream,
                   "usage": usage, "response_cost": self._cost(usage)})

    def _json_usage(self, body: bytes) -> dict[str, Any]:
        try:
            return dict(json.loads(edit_json_body(self.faults, body)).get("usage") or {})
        except (ValueError, AttributeError):
            return {}

    def _stream_usage(self, body: bytes) -> dict[str, Any]:
        usage: dict[str, Any] = {}
        for event in SseDecoder().feed(body):
            edited = edit_event(self.faults, event.name, event.raw, event.data)
            if edited is None or event.name not in ("message_start", "message_delta"):
                continue
            payload = json.loads(edited.split(b"data: ", 1)[1])
            if event.name == "message_start":
                usage.update(payload["message"].get("usage") or {})
            elif "ledger-first-usage" not in self.faults:  # that fault: a stream's usage as message_start had it
                usage.update({k: v for k, v in (payload.get("usage") or {}).items() if v is not None})
        return usage

    def _cost(self, usage: dict[str, Any]) -> float:
        split = usage.get("cache_creation") or {}
        read = usage.get("cache_read_input_tokens") or 0
        written = usage.get("cache_creation_input_tokens") or 0
        if "ledger-flat-price" in self.faults:  # every prompt token at the input price
            weighted = (usage.get("input_tokens") or 0) + read + written
        else:
            long_lived = split.get("ephemeral_1h_input_tokens") or 0
            weighted = (usage.get("input_tokens") or 0) + 0.1 * read + 1.25 * (written - long_lived) + 2 * long_lived
        return (weighted * INPUT_PRICE + (usage.get("output_tokens") or 0) * OUTPUT_PRICE) / 1e6

    def _add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.records.append(record)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.records)
