"""The Messages API's wire vocabulary in one place: header names, betas, credential classes, versions, hop-by-hop
headers, and ``Headers``, the case-insensitive header list the journal, the client exchange and the shim share.

Sources: ``../shared/reference/anthropic-wire.md`` §1 (headers), §3 (OAuth), §8 (versions); RFC 9110 §7.6.1.
"""

from __future__ import annotations

from collections.abc import Iterable

API_BASE_URL = "https://api.anthropic.com"
"""Where every Anthropic client sends requests unless configured otherwise."""
API_KEY_HEADER = "x-api-key"
AUTHORIZATION = "authorization"
BETA_HEADER = "anthropic-beta"
VERSION_HEADER = "anthropic-version"
REQUEST_ID_HEADER = "request-id"

OAUTH_BETA = "oauth-2025-04-20"
"""The beta an OAuth token needs next to ``Authorization: Bearer``; without it the API answers 401."""
OAUTH_PREFIX = "sk-ant-oat"
API_KEY_PREFIX = "sk-ant-api"
KNOWN_VERSIONS = ("2023-06-01", "2023-01-01", "2026-10-21")
"""``anthropic-version`` values the API accepts; the first is what every client sends."""

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade", "host",
                        "content-length", "trailer", "proxy-authorization", "proxy-authenticate"})
"""Hop-by-hop and framing headers: a proxy legitimately drops or rewrites these."""

PROXY_REWRITABLE = HOP_BY_HOP | {"accept-encoding"}
"""Headers a proxy may legitimately rewrite: hop-by-hop and framing, and accept-encoding (it negotiates its own)."""

SECRET_HEADERS = frozenset({API_KEY_HEADER, AUTHORIZATION, "x-litellm-api-key", "proxy-authorization", "api-key"})
"""Headers whose values are credentials, whatever they look like."""


def split_betas(values: Iterable[str]) -> list[str]:
    """Every beta named in ``anthropic-beta`` header values, in order (``["a, b", "c"]`` → ``["a", "b", "c"]``)."""
    return [b.strip() for value in values for b in value.split(",") if b.strip()]


def merge_betas(values: Iterable[str], add: str | None = None) -> str:
    """One ``anthropic-beta`` value naming every beta of ``values`` once, with ``add`` appended if missing."""
    merged = list(dict.fromkeys(split_betas(values)))
    if add and add not in merged:
        merged.append(add)
    return ",".join(merged)


class Headers(list[tuple[str, str]]):
    """``(name, value)`` pairs in arrival order with their case as sent; lookups ignore case.

    A list, so it serialises, compares and iterates as the pairs it holds."""

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        values = self.get_all(name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in arrival order."""
        lname = name.lower()
        return [v for k, v in self if k.lower() == lname]

    def has(self, name: str) -> bool:
        lname = name.lower()
        return any(k.lower() == lname for k, _ in self)

    def names(self) -> list[str]:
        """Lower-cased names in arrival order, repeats kept."""
        return [k.lower() for k, _ in self]

    def without(self, *names: str) -> Headers:
        """A copy without any header named in ``names`` (case-insensitive)."""
        drop = {n.lower() for n in names}
        return Headers((k, v) for k, v in self if k.lower() not in drop)

    def end_to_end(self) -> Headers:
        """A copy without the hop-by-hop and framing headers, and without every header the ``Connection`` header
        names (RFC 9110 §7.6.1): what a proxy forwards."""
        named = [n.strip() for value in self.get_all("connection") for n in value.split(",") if n.strip()]
        return self.without(*HOP_BY_HOP, *named)

    def betas(self) -> list[str]:
        """Every beta of every ``anthropic-beta`` header, in order."""
        return split_betas(self.get_all(BETA_HEADER))
