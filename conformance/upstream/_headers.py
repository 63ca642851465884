"""Response headers in the shape and order api.anthropic.com sends them (2026 recordings)."""

from __future__ import annotations

import random
import time
from email.utils import formatdate

_IATA = ("SJC", "EWR", "LHR", "FRA")


def _rfc3339(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _round_thousands(value: int) -> str:
    return str(value - value % 1000)


def response_headers(
    *,
    content_type: str,
    request_id: str,
    organization_id: str | None,
    rng: random.Random,
    ratelimit: bool,
    requests_remaining: int,
    sse: bool = False,
) -> list[tuple[str, str]]:
    """The header list of a response, before framing headers (the server adds those)."""
    now = time.time()
    ray = "".join(rng.choice("0123456789abcdef") for _ in range(16)) + "-" + rng.choice(_IATA)
    headers = [
        ("Date", formatdate(now, usegmt=True)),
        ("Content-Type", content_type),
        ("CF-RAY", ray),
    ]
    if sse:
        headers.append(("Cache-Control", "no-cache"))
    headers += [
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ("Server", "cloudflare"),
        ("X-Robots-Tag", "none"),
    ]
    if organization_id is not None:
        headers.append(("anthropic-organization-id", organization_id))
    if ratelimit:
        reset = _rfc3339(now + 1)
        for bucket, limit in (("input-tokens", 2_000_000), ("output-tokens", 400_000)):
            headers += [
                (f"anthropic-ratelimit-{bucket}-limit", str(limit)),
                (f"anthropic-ratelimit-{bucket}-remaining", _round_thousands(limit - rng.randrange(0, 5000))),
                (f"anthropic-ratelimit-{bucket}-reset", reset),
            ]
        headers += [
            ("anthropic-ratelimit-requests-limit", "20000"),
            ("anthropic-ratelimit-requests-remaining", str(max(requests_remaining, 0))),
            ("anthropic-ratelimit-requests-reset", reset),
            ("anthropic-ratelimit-tokens-limit", "2400000"),
            ("anthropic-ratelimit-tokens-remaining", _round_thousands(2_400_000 - rng.randrange(0, 5000))),
            ("anthropic-ratelimit-tokens-reset", reset),
        ]
    headers += [
        ("cf-cache-status", "DYNAMIC"),
        ("request-id", request_id),
        ("strict-transport-security", "max-age=31536000; includeSubDomains; preload"),
        # W3C trace context of the API's own tracing, on every answer from 2026-05 (llm-anthropic recordings).
        ("traceresponse", f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01"),
        ("x-envoy-upstream-service-time", str(rng.randrange(200, 1200))),
    ]
    return headers
